#!/bin/bash
# Benchmarks bulwark on a 2 GiB raw VM disk image (GPT, one ext4 partition
# made with mkfs.ext4 -d from a debootstrap Debian root filesystem) against
# the floor measured in the same run: `cat IMAGE > /dev/null` from a warm
# page cache. Reports the median wall and CPU time of RUNS runs, the peak
# RSS and both ratios to the floor.
# usage: sudo bench/vm/run.sh [ROOTFS]   (default: the tests' cached
#        debootstrap root filesystem; make one with
#        `go test -run TestVMPackages ./internal/image/`)
set -euo pipefail
cd "$(dirname "$0")/../.."
rootfs=${1:-${BULWARK_TEST_CACHE:-$HOME/.cache/bulwark-test}/debian-bookworm-minbase/rootfs}
runs=${RUNS:-5}
[ -d "$rootfs/var/lib/dpkg" ] || { echo "no root filesystem at $rootfs" >&2; exit 2; }
mkdir -p bench/out
img=bench/out/vm-2g.raw
rm -f "$img"
truncate -s 2G "$img"
printf 'label: gpt\nstart=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' | sfdisk -q "$img"
mkfs.ext4 -q -F -d "$rootfs" -E offset=1048576 "$img" 2000M
go build -trimpath -o bench/out/bulwark-go ./cmd/bulwark
source bench/lib.sh
shared=${SHARED:-../shared}
# A database in Debian security tracker format with one open advisory for
# every source package installed in the root filesystem, so the vuln gate
# matches every package of the disk (the tracker itself cannot be fetched
# here; the Go and GHSA data of ../shared/vulndata ride along).
db=bench/out/vm.bwdb
awk '/^Package: /{p=$2} /^Source: /{p=$2} /^$/{if(p!="")print p; p=""} END{if(p!="")print p}' "$rootfs/var/lib/dpkg/status" |
  sort -u | awk 'BEGIN{printf "{"} {printf "%s\"%s\":{\"CVE-2099-%d\":{\"releases\":{\"bookworm\":{\"status\":\"open\",\"urgency\":\"high\"}}}}", (NR>1 ? "," : ""), $1, 10000+NR} END{print "}"}' >bench/out/vm-tracker.json
bench/out/bulwark-go -q db build -o "$db" --debian-tracker bench/out/vm-tracker.json \
  --osv "$shared"/vulndata/go-vulndb-osv.tar.gz --ghsa "$shared"/vulndata/ghsa
export vmdb=$db
# lint and scan exit 1 on findings: that is a result, not a failure.
bw() { bench/out/bulwark-go "$@" || [ $? -eq 1 ]; }
export -f bw; export img

cat "$img" >/dev/null # warm the page cache
read -r floor floor_cpu floor_rss < <(measure_cpu bash -c 'cat "$img" >/dev/null')
read -r sbom sbom_cpu sbom_rss < <(measure_cpu bash -c 'bw sbom vm:"$img" --format json -o /dev/null')
read -r sec sec_cpu sec_rss < <(measure_cpu bash -c 'bw secrets vm:"$img" --format json -o /dev/null')
read -r host host_cpu host_rss < <(measure_cpu bash -c 'bw scan vm:"$img" --scanners host --format json -o /dev/null')
# The whole assessment: packages matched against the database (the
# database built above), the CIS host checks and
# the secret scan, in one pass.
read -r all all_cpu all_rss < <(measure_cpu bash -c 'bw scan vm:"$img" --scanners vuln,host,secret --db "$vmdb" --offline --format json -o /dev/null')
used=$(du -m "$img" | cut -f1)
{
  echo "image: $img (2 GiB virtual, ${used} MB allocated; root filesystem $(du -sm "$rootfs" | cut -f1) MB), median of $runs runs, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%-26s %7s %7s %9s %8s %8s\n' tool wall_s cpu_s peak_MiB x_floor x_cpu
  row_cpu "cat IMAGE (floor)" "$floor" "$floor_cpu" "$floor_rss" "$floor" "$floor_cpu"
  row_cpu "sbom vm:" "$sbom" "$sbom_cpu" "$sbom_rss" "$floor" "$floor_cpu"
  row_cpu "secrets vm:" "$sec" "$sec_cpu" "$sec_rss" "$floor" "$floor_cpu"
  row_cpu "scan vm: --scanners host" "$host" "$host_cpu" "$host_rss" "$floor" "$floor_cpu"
  row_cpu "scan vm: vuln,host,secret" "$all" "$all_cpu" "$all_rss" "$floor" "$floor_cpu"
} | tee bench/out/vm.txt
