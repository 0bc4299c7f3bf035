#!/bin/bash
# Times `bulwark scan rootfs:DIR --scanners host` (the whole debian-12
# profile, 288 checks, walk of every file included) and OpenSCAP (oscap
# xccdf eval offline with OSCAP_PROBE_ROOT, only the 108 SSG rules bulwark's
# checks map to: bench/host/tailoring.xml) side by side on the same
# debootstrap root file systems, median of RUNS runs each; wall and CPU
# (user+system) time, the ratio of CPU times.
# The root file systems are the test cache's (go test ./internal/host/oscap
# builds them); Debian 12 is given to oscap with the Debian 11 content minus
# its benchmark-wide platform (ssg-debian has no Debian 12 content).
# usage: bench/host/run.sh        (RUNS=5 by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/lib.sh
runs=${RUNS:-5}
cache=${BULWARK_TEST_CACHE:-$HOME/.cache/bulwark-test}
ds=/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml
mkdir -p bench/out
go build -trimpath -o bench/out/bulwark-go ./cmd/bulwark
grep -v '<xccdf-1.2:platform idref="cpe:/o:debian:debian_linux:11"/>' "$ds" > bench/out/ssg-debian-any-ds.xml

# oscap's dpkginfo probe reads the image's dpkg status through libapt, which
# also reads this machine's apt.conf.d (a container's docker-clean breaks
# it): an empty parts folder instead (internal/host/oscap does the same).
mkdir -p bench/out/apt.conf.d
echo "Dir::Etc::Parts \"$PWD/bench/out/apt.conf.d\";" > bench/out/apt.conf
# Both exit non-zero when a check fails: that is a result.
bw() { bench/out/bulwark-go scan "rootfs:$1" --scanners host -f json -o /dev/null || [ $? -eq 1 ]; }
osc() { APT_CONFIG=$PWD/bench/out/apt.conf OSCAP_PROBE_ROOT=$1 oscap xccdf eval --tailoring-file bench/host/tailoring.xml --profile xccdf_bulwark_profile_cis --results /dev/null "$2" >/dev/null 2>&1 || [ $? -eq 2 ]; }
export -f bw osc


{
  echo "median of $runs runs, $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine)"
  printf '%-30s %9s %9s %7s %9s %9s %7s %9s\n' rootfs bw_wall_s bw_cpu_s bw_MiB osc_wall_s osc_cpu_s osc_MiB cpu_ratio
  for suite in bullseye bookworm; do
    dir="$cache/debian-$suite-minbase+auditd,cron,openssh-server,rsyslog,sudo,systemd-sysv/rootfs"
    [ -d "$dir" ] || { echo "missing $dir: run go test ./internal/host/oscap -run TestAgreement first" >&2; exit 2; }
    d=$ds; [ "$suite" = bullseye ] || d=bench/out/ssg-debian-any-ds.xml
    read -r bw bc brss < <(measure_cpu bash -c "bw '$dir'")
    read -r ow oc orss < <(measure_cpu bash -c "osc '$dir' '$d'")
    printf '%-30s %9s %9s %7s %9s %9s %7s %9s\n' "$suite ($(du -sm "$dir" | cut -f1) MB)" "$bw" "$bc" "$((brss / 1024))" "$ow" "$oc" "$((orss / 1024))" "$(echo "scale=1; $oc / $bc" | bc)x"
  done
  echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee bench/out/host.txt
