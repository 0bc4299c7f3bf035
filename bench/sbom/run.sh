#!/bin/bash
# Package inventory benchmark: bulwark vs trivy and syft on the same images,
# in one run. Builds the reference images (Debian bookworm minbase from
# debootstrap + python3-yaml, curl, ca-certificates; Go programs from pinned
# module versions; an npm tree), then for each tool records wall time and
# peak memory (/usr/bin/time -v) and compares the package lists per package
# URL type (bench/sbom/compare).
#
# usage: bench/sbom/run.sh [OUTDIR]      (default: a temporary directory)
# Tools: syft and trivy are looked up on PATH and in $(go env GOPATH)/bin;
# build them with
#   go install github.com/anchore/syft/cmd/syft@latest
#   GOEXPERIMENT=jsonv2 go install github.com/aquasecurity/trivy/cmd/trivy@v0.74.0
# (trivy needs encoding/json/v2, behind GOEXPERIMENT=jsonv2 on Go 1.26).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-$(mktemp -d)}
mkdir -p "$out"
export PATH="$PATH:$(go env GOPATH)/bin"
floor=""
f=${SHARED:-../shared}/bench/floor.sh; [ -f "$f" ] && floor=$f

echo "== building the reference images in $out"
go run ./bench/sbom/mkimage "$out" > "$out/mkimage.log"
go build -o "$out/bulwark" ./cmd/bulwark
# ISA-L's inflate (cgo, libisal-dev), the decompressor the floor uses.
isal=""
if [ -e /usr/include/isa-l.h ] || [ -e /usr/include/isa-l/igzip_lib.h ]; then
  CGO_ENABLED=1 go build -tags isal -o "$out/bulwark-isal" ./cmd/bulwark && isal="$out/bulwark-isal"
fi

# measure NAME CMD...: runs CMD under /usr/bin/time -v, prints one line.
measure() {
  local name=$1; shift
  if ! /usr/bin/time -v "$@" > "$out/$name.stdout" 2> "$out/$name.time"; then
    echo "$name: failed (see $out/$name.time)"; tail -5 "$out/$name.time"; return 0
  fi
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$out/$name.time" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$out/$name.time" | awk '{print $NF}')
  printf "%-24s wall %8s   peak RSS %6d MiB\n" "$name" "$wall" $((rss / 1024))
}

for img in app base; do
  tarball="$out/$img.tar"
  echo "== $img.tar ($(du -h "$tarball" | cut -f1))"
  if [ -n "$floor" ] && command -v igzip > /dev/null; then
    measure "floor-$img" bash "$floor" "$tarball"
  else
    echo "floor: $floor or igzip missing (apt-get install isal)"
  fi
  rm -rf "$out/cache-$img"
  measure "bulwark-$img" "$out/bulwark" sbom --no-cache "$tarball" -f cyclonedx -o "$out/bulwark-$img.cdx.json"
  if [ -n "$isal" ]; then
    measure "bulwark-isal-$img" "$isal" sbom --no-cache "$tarball" -f cyclonedx -o "$out/bulwark-isal-$img.cdx.json"
  fi
  "$out/bulwark" sbom --cache-dir "$out/cache-$img" "$tarball" -f json -o /dev/null
  measure "bulwark-cached-$img" "$out/bulwark" sbom --cache-dir "$out/cache-$img" "$tarball" -f cyclonedx -o "$out/bulwark-cached-$img.cdx.json"
  args=("bulwark=$out/bulwark-$img.cdx.json")
  if command -v syft > /dev/null; then
    measure "syft-$img" env SYFT_CHECK_FOR_APP_UPDATE=false syft scan -q "docker-archive:$tarball" -o "cyclonedx-json=$out/syft-$img.cdx.json"
    [ -s "$out/syft-$img.cdx.json" ] && args+=("syft=$out/syft-$img.cdx.json")
  else
    echo "syft: not installed"
  fi
  if command -v trivy > /dev/null; then
    rm -rf "$out/trivy-cache"
    # trivy's jar analyzer needs its Java DB, downloaded from ghcr.io, which
    # is out of reach here ("--skip-java-db-update cannot be specified on
    # the first run"): jars are left out of trivy's run.
    measure "trivy-$img" trivy image --quiet --cache-dir "$out/trivy-cache" --skip-db-update --skip-java-db-update --offline-scan \
      --skip-files "**/*.jar" \
      --format cyclonedx --output "$out/trivy-$img.cdx.json" --input "$tarball"
    [ -s "$out/trivy-$img.cdx.json" ] && args+=("trivy=$out/trivy-$img.cdx.json")
  else
    echo "trivy: not installed"
  fi
  echo "-- packages per purl type, and every difference from bulwark"
  go run ./bench/sbom/compare "${args[@]}"
done
