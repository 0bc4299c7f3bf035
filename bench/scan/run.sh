#!/bin/bash
# Benchmarks `bulwark scan` with all three scanners (vulnerabilities,
# secrets, CIS lint: one pass over the image) on the benchmark image against
# the floor (every layer decompressed once with ISA-L's igzip, layers in
# parallel) measured in the same run, for the pure-Go and the ISA-L build:
# median wall and CPU time (user+sys, the figure that compares on a shared
# machine), peak RSS; trivy's SBOM pass beside bulwark's when installed.
# The database is built from ../shared/vulndata (Go vulndb, PyPA, GHSA).
# The chain it replaces (trivy + Dockle) is the issue's reference figure:
# 4.3 s on a 106 MB image whose floor is 0.29 s (14.8x the floor).
# usage: bench/scan/run.sh [IMAGE.tar]   (default: builds bench/out/image.tar)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:$(go env GOPATH)/bin"
shared=${SHARED:-../shared}
img=${1:-bench/out/image.tar}
runs=${RUNS:-7}
mkdir -p bench/out
[ -f "$img" ] || bench/fixture/build-image.sh "$img"
go build -trimpath -o bench/out/bulwark-go ./cmd/bulwark
CGO_ENABLED=1 go build -tags isal -trimpath -o bench/out/bulwark-isal ./cmd/bulwark
db=bench/out/scan.bwdb
bench/out/bulwark-go db build -o "$db" --osv "$shared/vulndata/go-vulndb-osv.tar.gz" \
  --osv "$shared/vulndata/pypa-advisory-osv-yaml.tar.gz" --ghsa "$shared/vulndata/ghsa" 2>/dev/null

source bench/lib.sh
# scan exits 1 when the gate fails, which it does on this image.
scan() { DOCKER_CONTENT_TRUST=1 "$1" scan --input "$img" --db "$db" --offline -f json -o /dev/null || [ $? -eq 1 ]; }
export -f scan; export img db

read -r floor floor_cpu floor_rss < <(measure_cpu bash "$shared/bench/floor.sh" "$img")
size=$(du -m "$img" | cut -f1)
{
  echo "image: $img (${size} MB), median of $runs runs, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
  printf '%-26s %7s %7s %9s %8s %8s\n' tool wall_s cpu_s peak_MiB x_floor x_floorcpu
  row_cpu "floor (igzip, parallel)" "$floor" "$floor_cpu" "$floor_rss" "$floor" "$floor_cpu"
  read -r t c m < <(measure_cpu bash -c 'scan bench/out/bulwark-go'); row_cpu "bulwark scan (pure Go)" "$t" "$c" "$m" "$floor" "$floor_cpu"
  read -r t c m < <(measure_cpu bash -c 'scan bench/out/bulwark-isal'); row_cpu "bulwark scan (-tags isal)" "$t" "$c" "$m" "$floor" "$floor_cpu"
  # trivy's vulnerability scan needs its database from ghcr.io, out of reach
  # offline; its SBOM pass (-f cyclonedx) needs none, so that is what runs,
  # beside bulwark's sbom (the Java DB is out of reach too: jars skipped).
  if command -v trivy >/dev/null; then
    read -r t c m < <(measure_cpu bench/out/bulwark-go sbom --no-cache "$img" -f cyclonedx -o /dev/null); row_cpu "bulwark sbom (pure Go)" "$t" "$c" "$m" "$floor" "$floor_cpu"
    tc=$(mktemp -d)
    read -r t c m < <(measure_cpu trivy image --quiet --cache-dir "$tc" --cache-backend memory --skip-db-update \
      --skip-java-db-update --offline-scan --skip-files "**/*.jar" --input "$img" -f cyclonedx -o /dev/null)
    row_cpu "trivy SBOM (no jars)" "$t" "$c" "$m" "$floor" "$floor_cpu"
    rm -rf "$tc"
  else
    echo "trivy: not installed here, no row"
  fi
  echo "trivy + dockle (issue ref.): 4.3 s wall, 14.8x the floor"
} | tee bench/out/scan.txt
