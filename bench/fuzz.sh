#!/bin/bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 10m,
# the once-per-release run; FUZZTIME=10s gives a quick rate check) and
# prints each target's rate. A target below MIN_RATE execs/s (default 50,
# i.e. 3,000 inputs a minute) is listed as too slow and the script exits 1;
# a crash exits 1 and leaves the failing input under the package's
# testdata/fuzz/ folder, as `go test -fuzz` does.
# usage: bench/fuzz.sh [PATTERN]   (PATTERN: a regexp on "pkg FuzzName")
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10m}
min=${MIN_RATE:-50}
# Each new input is minimized with at most MINIMIZE tries (Go's default is
# 60s of them, during which the exec count stands still: a target whose
# coverage varies with goroutine scheduling, like the layer walker's
# read-ahead, then spends most of its time minimizing, 3 inputs a minute).
minimize=${MINIMIZE:-100x}
pattern=${1:-.}
out=bench/out/fuzz
mkdir -p "$out"

# Every "package FuzzName" pair, from the test files themselves.
targets=$(grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg=./$(dirname "${f#./}")
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed "s|^func |$pkg |"
done | sort -u | grep -E -- "$pattern")

status=0
printf '%-32s %-28s %10s %12s %8s\n' package target execs execs_per_s result | tee "$out/rates.txt"
while read -r pkg name; do
  [ -n "$pkg" ] || continue
  log="$out/$(echo "$pkg" | tr '/.' '__')_$name.log"
  go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimize" "$pkg" >"$log" 2>&1
  rc=$?
  # The last progress line: "fuzz: elapsed: 10s, execs: 123456 (12345/sec), ..."
  last=$(grep -o 'elapsed: [0-9]*s, execs: [0-9]*' "$log" | tail -1)
  secs=$(echo "$last" | sed -E 's/elapsed: ([0-9]+)s.*/\1/')
  execs=$(echo "$last" | sed -E 's/.*execs: ([0-9]+)/\1/')
  rate=0
  if [ -n "$secs" ] && [ "${secs:-0}" -gt 0 ]; then rate=$((execs / secs)); fi
  result=ok
  if [ $rc -ne 0 ]; then result=FAILED; status=1
  elif [ "$rate" -lt "$min" ]; then result=SLOW; status=1; fi
  printf '%-32s %-28s %10s %12s %8s\n' "$pkg" "$name" "${execs:-0}" "$rate" "$result" | tee -a "$out/rates.txt"
done <<<"$targets"
echo "logs: $out/"
exit $status
