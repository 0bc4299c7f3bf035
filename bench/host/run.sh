#!/bin/bash
# Times `bulwark scan rootfs:DIR --scanners host` (the whole debian-12
# profile, 288 checks, walk of every file included) and OpenSCAP (oscap
# xccdf eval offline with OSCAP_PROBE_ROOT, only the 91 SSG rules bulwark's
# checks map to: bench/host/tailoring.xml) side by side on the same
# debootstrap root file systems, median of RUNS runs each, alternating.
# The root file systems are the test cache's (go test ./internal/host/oscap
# builds them); Debian 12 is given to oscap with the Debian 11 content minus
# its benchmark-wide platform (ssg-debian has no Debian 12 content).
# usage: bench/host/run.sh        (RUNS=5 by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-5}
cache=${BULWARK_TEST_CACHE:-$HOME/.cache/bulwark-test}
ds=/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml
mkdir -p bench/out
go build -trimpath -o bench/out/bulwark-go ./cmd/bulwark
grep -v '<xccdf-1.2:platform idref="cpe:/o:debian:debian_linux:11"/>' "$ds" > bench/out/ssg-debian-any-ds.xml

source bench/lib.sh
# Both exit non-zero when a check fails: that is a result.
bw() { bench/out/bulwark-go scan "rootfs:$1" --scanners host -f json -o /dev/null || [ $? -eq 1 ]; }
osc() { OSCAP_PROBE_ROOT=$1 oscap xccdf eval --tailoring-file bench/host/tailoring.xml --profile xccdf_bulwark_profile_cis --results /dev/null "$2" >/dev/null 2>&1 || [ $? -eq 2 ]; }
export -f bw osc

{
  echo "median of $runs runs, $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine)"
  printf '%-34s %10s %10s %10s %10s %8s\n' rootfs bulwark_s bw_MiB oscap_s oscap_MiB ratio
  for suite in bullseye bookworm; do
    dir="$cache/debian-$suite-minbase+cron,openssh-server,rsyslog,sudo,systemd-sysv/rootfs"
    [ -d "$dir" ] || { echo "missing $dir: run go test ./internal/host/oscap -run TestAgreement first" >&2; exit 2; }
    d=$ds; [ "$suite" = bullseye ] || d=bench/out/ssg-debian-any-ds.xml
    read -r b brss < <(measure bash -c "bw '$dir'")
    read -r o orss < <(measure bash -c "osc '$dir' '$d'")
    printf '%-34s %10s %10s %10s %10s %8s\n' "$suite ($(du -sm "$dir" | cut -f1) MB)" "$b" "$((brss / 1024))" "$o" "$((orss / 1024))" "$(echo "scale=1; $o / $b" | bc)x"
  done
} | tee bench/out/host.txt
