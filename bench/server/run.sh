#!/bin/bash
# Scale bench of `bulwark server` (see README.md): 10,000 stored images made
# from real Debian package lists, a database update changing 100
# advisories, re-evaluation time against a full rescan estimated from a
# real Debian image read through a CNCF registry on 127.0.0.1, API latency
# with every image stored, storage per image. Writes results.json and
# results.md here.
#
#   bench/server/run.sh                   # 10,000 images, 100 changes
#   IMAGES=1000 CHANGES=10 bench/server/run.sh
#   SAMPLE=0 bench/server/run.sh          # without the registry read
#   DATABASE=postgres bench/server/run.sh # the store on PostgreSQL (started
#                                         # by the test as nobody); writes
#                                         # results-postgres.json and .md
#
# Needs: Go, docker-registry (the CNCF registry) and debootstrap (the
# sample image's root filesystem, built once into the test cache) as root.
# Package lists: /var/lib/dpkg/status and the debootstrap root filesystems
# in the test cache, or STATUS=file1:file2.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
db=${DATABASE:-sqlite}
case $db in sqlite) out=results ;; postgres) out=results-postgres ;; *) echo "DATABASE=$db: want sqlite or postgres" >&2; exit 2 ;; esac
export BULWARK_SCALE=1 BULWARK_SCALE_OUT="$here/$out.json" BULWARK_SCALE_DATABASE=$db
export BULWARK_SCALE_IMAGES=${IMAGES:-10000} BULWARK_SCALE_CHANGES=${CHANGES:-100} BULWARK_SCALE_SAMPLE=${SAMPLE:-1}
[ -n "${STATUS:-}" ] && export BULWARK_SCALE_STATUS=$STATUS
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "load before: $(load) on $(nproc) cores"
/usr/bin/time -v go test ./bench/server/ -run '^TestScale$' -count=1 -v -timeout 90m 2>"$here/$out-time.log" | tee "$here/$out-test.log" | grep -E '^(=== RUN|--- |\s+scale_test|ok|FAIL)' || true
grep -q '^--- PASS: TestScale' "$here/$out-test.log" || { tail -30 "$here/$out-test.log"; exit 1; }
echo "load after: $(load)"
python3 - "$here/$out.json" "$(load)" > "$here/$out.md" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
print("| measure | figure |")
print("|---|---|")
print(f"| stored images | {f['images']:,} ({f['packagesPerImageMean']:.0f} packages, {f['findingsPerImageMean']:.1f} findings each on average; {f['advisoriesV1']:,} advisories) |")
print(f"| database update | {f['advisoriesChanged']} advisories changed: {f['keysChanged']} package keys, {f['rematched']:,} images re-matched, {f['keptCurrent']:,} kept current, {f['newFindings']:,} new and {f['fixedFindings']:,} fixed findings |")
db = f.get('database', 'sqlite')
pgcpu = f" (the PostgreSQL server's {f['refreshDatabaseServerCPUSeconds']:.1f} s included)" if f.get('refreshDatabaseServerCPUSeconds') else ""
print(f"| store | {db} |")
print(f"| re-evaluation | **{f['refreshSeconds']:.1f} s** wall, {f['refreshCPUSeconds']:.1f} s CPU (user+sys){pgcpu}, {f['registryReadsDuringRefresh']} registry requests |")
if f.get('sampleIngestSeconds'):
    print(f"| sample image read (registry on 127.0.0.1, {f['sampleImageMB']:.0f} MB compressed) | {f['sampleIngestSeconds']:.1f} s = {f['ingestPerMinute']:.1f} images/minute |")
    print(f"| full rescan of {f['images']:,} images, extrapolated | **{f['fullRescanMinutesEstimate']:.0f} min** ({f['fullRescanMinutesEstimate']*60/f['refreshSeconds']:.0f}x the re-evaluation) |")
h = f['harborMinutesAt52And75PerMinute']
print(f"| Harbor's reported 52-75 scans/minute | {h[1]:.0f}-{h[0]:.0f} min |")
print(f"| {db} store | {f['storeBytes']/1e6:.0f} MB = **{f['bytesPerImage']/1e3:.1f} KB per image** |")
if f.get('storeBytesAfterUpdate'):
    print(f"| {db} store after the update | {f['storeBytesAfterUpdate']/1e6:.0f} MB = {f['storeBytesAfterUpdate']/f['images']/1e3:.1f} KB per image |")
for k, v in f['apiLatency'].items():
    cpu = f", CPU {v['cpuMsPerRequest']:.1f} ms a request" if 'cpuMsPerRequest' in v else ""
    print(f"| {k} | p50 {v['p50']:.1f} ms, p95 {v['p95']:.1f} ms, **p99 {v['p99']:.1f} ms** (n={v['n']}){cpu} |")
print(f"\nLoad average after the run: {sys.argv[2]}.")
PY
cat "$here/$out.md"
grep -E 'Maximum resident|Elapsed|User time|System time' "$here/$out-time.log" | sed 's/^\s*/  /'
