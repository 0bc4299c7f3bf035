#!/bin/bash
# Benchmarks bulwark on a 2 GiB raw VM disk image (GPT, one ext4 partition
# made with mkfs.ext4 -d from a debootstrap Debian root filesystem) against
# the floor measured in the same run: `cat IMAGE > /dev/null` from a warm
# page cache. Reports the median wall time of RUNS runs, the peak RSS and
# the ratio to the floor.
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
# lint and scan exit 1 on findings: that is a result, not a failure.
bw() { bench/out/bulwark-go "$@" || [ $? -eq 1 ]; }
export -f bw; export img

cat "$img" >/dev/null # warm the page cache
read -r floor floor_rss < <(measure bash -c 'cat "$img" >/dev/null')
read -r sbom sbom_rss < <(measure bash -c 'bw sbom vm:"$img" --format json -o /dev/null')
read -r all all_rss < <(measure bash -c 'bw scan vm:"$img" --scanners secret,lint --format json -o /dev/null')
read -r sec sec_rss < <(measure bash -c 'bw secrets vm:"$img" --format json -o /dev/null')
used=$(du -m "$img" | cut -f1)
{
  echo "image: $img (2 GiB virtual, ${used} MB allocated; root filesystem $(du -sm "$rootfs" | cut -f1) MB), median of $runs runs, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%-30s %8s %10s %12s\n' tool wall_s peak_MiB x_floor
  row "cat IMAGE >/dev/null (floor)" "$floor" "$floor_rss" "$floor"
  row "bulwark sbom vm:" "$sbom" "$sbom_rss" "$floor"
  row "bulwark secrets vm:" "$sec" "$sec_rss" "$floor"
  row "bulwark scan vm: (secret,lint)" "$all" "$all_rss" "$floor"
} | tee bench/out/vm.txt
