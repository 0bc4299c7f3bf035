#!/usr/bin/env bash
# Benchmark `bulwark secrets` against gitleaks on the same generated tree,
# in one run: wall time, throughput, peak memory, recall and precision
# against the planted truth. The tree is generated from a seed and never
# committed.
#
#   bench/secrets/run.sh            # 110 MB tree, seed 1
#   MB=200 SEED=7 bench/secrets/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
MB=${MB:-110}
SEED=${SEED:-1}
GITLEAKS_VERSION=${GITLEAKS_VERSION:-v8.30.1}
WORK=${WORK:-$(mktemp -d /tmp/bulwark-secrets-bench.XXXXXX)}
mkdir -p "$WORK"
echo "work directory: $WORK"

go build -o "$WORK/bulwark" ./cmd/bulwark
if [ ! -x "$WORK/bin/gitleaks" ]; then
	GOBIN="$WORK/bin" go install "github.com/zricethezav/gitleaks/v8@$GITLEAKS_VERSION"
fi
if [ ! -f "$WORK/truth.json" ]; then
	go run ./bench/secrets/gen -out "$WORK/tree" -truth "$WORK/truth.json" -mb "$MB" -seed "$SEED"
fi
bytes=$(du -sb "$WORK/tree" | cut -f1)

# Warm the page cache so that neither tool pays for the first read.
cat $(find "$WORK/tree" -type f) > /dev/null

/usr/bin/time -f "%e %M" -o "$WORK/bulwark.time" \
	"$WORK/bulwark" secrets "$WORK/tree" -f json -o "$WORK/bulwark.json" --exit-code 0
/usr/bin/time -f "%e %M" -o "$WORK/gitleaks.time" \
	"$WORK/bin/gitleaks" dir "$WORK/tree" --report-format json --report-path "$WORK/gitleaks.json" \
	--no-banner --redact --log-level error --exit-code 0

read -r bw bm < "$WORK/bulwark.time"
read -r gw gm < "$WORK/gitleaks.time"
echo
echo "tree: $((bytes / 1048576)) MB, $(find "$WORK/tree" -type f | wc -l) files, $(nproc) CPUs"
awk -v b="$bytes" -v bw="$bw" -v bm="$bm" -v gw="$gw" -v gm="$gm" 'BEGIN {
	printf "bulwark   wall %7.2f s  %8.1f MB/s  peak RSS %6.1f MB\n", bw, b/1048576/bw, bm/1024
	printf "gitleaks  wall %7.2f s  %8.1f MB/s  peak RSS %6.1f MB\n", gw, b/1048576/gw, gm/1024
	printf "throughput ratio bulwark/gitleaks: %.1fx\n", gw/bw
}'
go run ./bench/secrets/gen -score -truth "$WORK/truth.json" -bulwark "$WORK/bulwark.json" -gitleaks "$WORK/gitleaks.json"
