#!/bin/bash
# Benchmarks `bulwark lint` on the benchmark image against the floor (every
# layer decompressed once with ISA-L's igzip, layers in parallel) measured
# in the same run, for the pure-Go build and the ISA-L build.
# Dockle cannot be installed here (the Go module proxy answers 403 for it);
# its figure is the reference from the issue: 1.84 s = 6.3x the floor on the
# same kind of 106 MB image.
# usage: bench/lint/run.sh [IMAGE.tar]   (default: builds bench/out/image.tar)
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${SHARED:-../shared}
img=${1:-bench/out/image.tar}
runs=${RUNS:-7}
mkdir -p bench/out
[ -f "$img" ] || bench/fixture/build-image.sh "$img"
go build -trimpath -o bench/out/bulwark-go ./cmd/bulwark
CGO_ENABLED=1 go build -tags isal -trimpath -o bench/out/bulwark-isal ./cmd/bulwark

source bench/lib.sh
# /usr/bin/time reports the command's own exit status; lint exits 1 on findings.
lint() { DOCKER_CONTENT_TRUST=1 "$1" lint --input "$img" --format json -o /dev/null || [ $? -eq 1 ]; }
export -f lint; export img

read -r floor floor_rss < <(measure bash "$shared/bench/floor.sh" "$img")
read -r go go_rss < <(measure bash -c 'lint bench/out/bulwark-go')
read -r isal isal_rss < <(measure bash -c 'lint bench/out/bulwark-isal')
size=$(du -m "$img" | cut -f1)
{
  echo "image: $img (${size} MB), median of $runs runs, $(nproc) cores"
  printf '%-30s %8s %10s %12s\n' tool wall_s peak_MiB x_floor
  row "floor (igzip, parallel)" "$floor" "$floor_rss" "$floor"
  row "bulwark lint (pure Go)" "$go" "$go_rss" "$floor"
  row "bulwark lint (-tags isal)" "$isal" "$isal_rss" "$floor"
  printf '%-30s %8s %10s %12s\n' "dockle (issue reference)" 1.84 - 6.30
} | tee bench/out/lint.txt
