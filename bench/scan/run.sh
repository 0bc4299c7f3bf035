#!/bin/bash
# Benchmarks `bulwark scan` with all three scanners (vulnerabilities,
# secrets, CIS lint: one pass over the image) on the benchmark image against
# the floor (every layer decompressed once with ISA-L's igzip, layers in
# parallel) measured in the same run, for the pure-Go and the ISA-L build.
# The database is built from ../shared/vulndata (Go vulndb, PyPA, GHSA).
# The chain it replaces (trivy + Dockle) is the issue's reference figure:
# 4.3 s on a 106 MB image whose floor is 0.29 s (14.8x the floor).
# usage: bench/scan/run.sh [IMAGE.tar]   (default: builds bench/out/image.tar)
set -euo pipefail
cd "$(dirname "$0")/../.."
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

read -r floor floor_rss < <(measure bash "$shared/bench/floor.sh" "$img")
read -r go go_rss < <(measure bash -c 'scan bench/out/bulwark-go')
read -r isal isal_rss < <(measure bash -c 'scan bench/out/bulwark-isal')
size=$(du -m "$img" | cut -f1)
{
  echo "image: $img (${size} MB), median of $runs runs, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
  printf '%-30s %8s %10s %12s\n' tool wall_s peak_MiB x_floor
  printf '%-30s %8s %10s %12s\n' "floor (igzip, parallel)" "$floor" "$((floor_rss / 1024))" 1.00
  for row in "bulwark scan (pure Go):$go:$go_rss" "bulwark scan (-tags isal):$isal:$isal_rss"; do
    IFS=: read -r name t m <<<"$row"
    printf '%-30s %8s %10s %12s\n' "$name" "$t" "$((m / 1024))" "$(echo "scale=2; $t / $floor" | bc)"
  done
  printf '%-30s %8s %10s %12s\n' "trivy + dockle (issue ref.)" 4.3 - 14.8
} | tee bench/out/scan.txt
