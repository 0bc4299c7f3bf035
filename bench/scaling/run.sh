#!/bin/bash
# Scaling benchmark on the many-small-files shape (node_modules-like
# layers, 40 files a package; bench/scaling/gen): bulwark lint, scan (all
# gates), sbom -f json, -f cyclonedx and -f spdx (no layer cache) against
# the floor (every layer decompressed once, layers in parallel, with igzip
# and with GNU gzip) and, when they are on the PATH, trivy's and syft's SBOM
# passes and Dockle, all measured in the same run: median wall time, median CPU time
# (user+sys, the figure that compares on a shared machine) and peak RSS.
# trivy runs offline (no database: with -f cyclonedx it only builds the
# SBOM) with its layer cache in memory, as bulwark runs with --no-cache;
# its package list is compared with bulwark's (bench/sbom/compare).
# trivy: GOEXPERIMENT=jsonv2 go install github.com/aquasecurity/trivy/cmd/trivy@v0.74.0
# syft (optional, its SBOM pass, cyclonedx-json): go install github.com/anchore/syft/cmd/syft@v1.57.2
# Dockle (optional): go install github.com/goodwithtech/dockle/cmd/dockle@latest
# usage: bench/scaling/run.sh [FILES ...]   (default: 400000; the issue's
#        second point is 1600000). RUNS=N (default 3), ISAL=1 adds the
#        -tags isal build, BASELINE=BINARY adds rows for another build
#        (an older commit) in the same run, OUT=DIR puts the images, the
#        builds and the tables in DIR (default bench/out), STEPS="sbom"
#        measures only the SBOM rows (default "lint scan sbom").
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:$(go env GOPATH)/bin"
shared=${SHARED:-../shared}
runs=${RUNS:-3}
out=${OUT:-bench/out}
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(400000)
steps=" ${STEPS:-lint scan sbom} "
mkdir -p "$out"
go build -o "$out/bulwark-go" ./cmd/bulwark
builds=(go)
if [ "${ISAL:-}" = 1 ]; then
  CGO_ENABLED=1 go build -tags isal -o "$out/bulwark-isal" ./cmd/bulwark
  builds+=(isal)
fi
if [ -n "${BASELINE:-}" ]; then
  cp "$BASELINE" "$out/bulwark-baseline"
  builds+=(baseline)
fi
db=$out/scan.bwdb
[ -s "$db" ] || "$out/bulwark-go" db build -o "$db" --osv "$shared/vulndata/go-vulndb-osv.tar.gz" \
  --osv "$shared/vulndata/pypa-advisory-osv-yaml.tar.gz" --ghsa "$shared/vulndata/ghsa" 2>/dev/null

source bench/lib.sh
# lint and scan exit 1 when a gate fails; that is a result, not an error.
gate() { "$@" || [ $? -eq 1 ]; }
export -f gate
export DOCKER_CONTENT_TRUST=1

for files in "${sizes[@]}"; do
  img=$out/many-$files.tar
  [ -f "$img" ] || go run ./bench/scaling/gen -files "$files" -o "$img"
  export img db
  read -r floor floor_cpu floor_rss < <(measure_cpu bash "$shared/bench/floor.sh" "$img")
  {
    echo "image: $img ($files files, $((files / 40)) packages, $(du -mL "$img" | cut -f1) MB), median of $runs runs, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
    printf '%-26s %7s %7s %9s %8s %8s\n' tool wall_s cpu_s peak_MiB x_floor x_floorcpu
    row_cpu "floor (igzip, parallel)" "$floor" "$floor_cpu" "$floor_rss" "$floor" "$floor_cpu"
    read -r t c m < <(FLOOR_GZIP=gzip measure_cpu bash "$shared/bench/floor.sh" "$img"); row_cpu "floor (gzip, parallel)" "$t" "$c" "$m" "$floor" "$floor_cpu"
    for b in "${builds[@]}"; do
      bin=$out/bulwark-$b
      if [[ $steps == *" lint "* ]]; then
        read -r t c m < <(measure_cpu bash -c "gate $bin lint --input \$img -f json -o /dev/null"); row_cpu "lint ($b)" "$t" "$c" "$m" "$floor" "$floor_cpu"
      fi
      if [[ $steps == *" scan "* ]]; then
        read -r t c m < <(measure_cpu bash -c "gate $bin scan --input \$img --db \$db --offline -f json -o /dev/null"); row_cpu "scan ($b)" "$t" "$c" "$m" "$floor" "$floor_cpu"
      fi
      [[ $steps == *" sbom "* ]] || continue
      for f in json cyclonedx spdx; do
        read -r t c m < <(measure_cpu "$bin" sbom --no-cache "$img" -f "$f" -o "$out/sbom-$b-$files.$f"); row_cpu "sbom -f $f ($b)" "$t" "$c" "$m" "$floor" "$floor_cpu"
      done
    done
    if command -v trivy >/dev/null; then
      tc=$(mktemp -d)
      read -r t c m < <(measure_cpu trivy image --quiet --cache-dir "$tc" --cache-backend memory --timeout 60m \
        --skip-db-update --skip-java-db-update --offline-scan --input "$img" -f cyclonedx -o "$out/trivy-$files.cdx.json")
      row_cpu "trivy SBOM $(go version -m "$(command -v trivy)" | awk '$1 == "mod" {print $3}')" "$t" "$c" "$m" "$floor" "$floor_cpu"
      rm -rf "$tc"
      trivy_sbom=$out/trivy-$files.cdx.json
    else
      echo "trivy: not installed here, column skipped"
    fi
    if command -v syft >/dev/null; then
      # syft unpacks the layers into its temporary folder: keep it in OUT.
      st=$(mktemp -d -p "$out")
      read -r t c m < <(TMPDIR=$st SYFT_CHECK_FOR_APP_UPDATE=false measure_cpu syft scan --quiet "docker-archive:$img" \
        -o "cyclonedx-json=$out/syft-$files.cdx.json")
      row_cpu "syft $(go version -m "$(command -v syft)" | awk '$1 == "mod" {print $3}')" "$t" "$c" "$m" "$floor" "$floor_cpu"
      rm -rf "$st"
    else
      echo "syft: not installed here, no row"
    fi
    if command -v dockle >/dev/null; then
      read -r t c m < <(measure_cpu bash -c "gate dockle --input \$img -f json -o /dev/null"); row_cpu "dockle" "$t" "$c" "$m" "$floor" "$floor_cpu"
    else
      echo "dockle: not installed here, no row"
    fi
    if [ -n "${trivy_sbom:-}" ] && [ -s "$out/sbom-go-$files.cyclonedx" ]; then
      echo "packages (distinct name and version per purl type) and the first differences:"
      peers=("trivy=$trivy_sbom")
      [ -s "$out/syft-$files.cdx.json" ] && peers+=("syft=$out/syft-$files.cdx.json")
      go run ./bench/sbom/compare "bulwark=$out/sbom-go-$files.cyclonedx" "${peers[@]}" > "$out/compare-$files.txt"
      head -n 20 "$out/compare-$files.txt"
      echo "($(grep -c '^only' "$out/compare-$files.txt" || true) differences in all: $out/compare-$files.txt)"
    fi
  } | tee "$out/scaling-$files.txt"
done
