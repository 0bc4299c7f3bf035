#!/bin/bash
# Scaling benchmark on the many-small-files shape (node_modules-like
# layers, 40 files a package; bench/scaling/gen): bulwark lint, scan (all
# gates), sbom -f json and sbom -f cyclonedx (no layer cache) against the
# floor (every layer decompressed once with igzip, layers in parallel),
# measured in the same run; median wall time and peak RSS.
# usage: bench/scaling/run.sh [FILES ...]   (default: 400000; the issue's
#        second point is 1600000). RUNS=N (default 3), ISAL=1 adds the
#        -tags isal build, BASELINE=BINARY adds rows for another build
#        (an older commit) in the same run.
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${SHARED:-../shared}
runs=${RUNS:-3}
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(400000)
mkdir -p bench/out
go build -trimpath -o bench/out/bulwark-go ./cmd/bulwark
builds=(go)
if [ "${ISAL:-}" = 1 ]; then
  CGO_ENABLED=1 go build -tags isal -trimpath -o bench/out/bulwark-isal ./cmd/bulwark
  builds+=(isal)
fi
if [ -n "${BASELINE:-}" ]; then
  cp "$BASELINE" bench/out/bulwark-baseline
  builds+=(baseline)
fi
db=bench/out/scan.bwdb
[ -s "$db" ] || bench/out/bulwark-go db build -o "$db" --osv "$shared/vulndata/go-vulndb-osv.tar.gz" \
  --osv "$shared/vulndata/pypa-advisory-osv-yaml.tar.gz" --ghsa "$shared/vulndata/ghsa" 2>/dev/null

source bench/lib.sh
# lint and scan exit 1 when a gate fails; that is a result, not an error.
gate() { "$@" || [ $? -eq 1 ]; }
export -f gate
export DOCKER_CONTENT_TRUST=1

for files in "${sizes[@]}"; do
  img=bench/out/many-$files.tar
  [ -f "$img" ] || go run ./bench/scaling/gen -files "$files" -o "$img"
  export img db
  read -r floor floor_rss < <(measure bash "$shared/bench/floor.sh" "$img")
  {
    echo "image: $img ($files files, $((files / 40)) packages, $(du -m "$img" | cut -f1) MB), median of $runs runs, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
    printf '%-30s %8s %10s %12s\n' tool wall_s peak_MiB x_floor
    row "floor (igzip, parallel)" "$floor" "$floor_rss" "$floor"
    for b in "${builds[@]}"; do
      bin=bench/out/bulwark-$b
      read -r t m < <(measure bash -c "gate $bin lint --input \$img -f json -o /dev/null"); row "lint ($b)" "$t" "$m" "$floor"
      read -r t m < <(measure bash -c "gate $bin scan --input \$img --db \$db --offline -f json -o /dev/null"); row "scan ($b)" "$t" "$m" "$floor"
      read -r t m < <(measure "$bin" sbom --no-cache "$img" -f json -o /dev/null); row "sbom -f json ($b)" "$t" "$m" "$floor"
      read -r t m < <(measure "$bin" sbom --no-cache "$img" -f cyclonedx -o /dev/null); row "sbom -f cyclonedx ($b)" "$t" "$m" "$floor"
    done
  } | tee "bench/out/scaling-$files.txt"
done
