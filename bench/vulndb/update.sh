#!/bin/bash
# Measures the published-database path on one machine: the database built
# from all of ../shared/vulndata is pushed (signed) to a CNCF registry on
# 127.0.0.1, then, each RUNS times (median):
#   update-empty   'bulwark db update' on an empty cache (pull, verify, install)
#   floor          curl of the same layer blob from the same registry (transfer only)
#   first-scan     'bulwark scan' on an empty cache (pulls the database first)
#   warm-scan      the same scan with the database in the cache
# No peer scanner runs here: trivy and grype are not installed and their
# databases cannot be fetched offline; the floor is the raw transfer.
# usage: bench/vulndb/update.sh      (writes bench/out/db-update/results.txt)
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/lib.sh
shared=${SHARED:-../shared}
out=bench/out/db-update
rm -rf "$out"; mkdir -p "$out"
out=$(cd "$out" && pwd)
bin=$out/bulwark
go build -trimpath -o "$bin" ./cmd/bulwark

"$bin" db build -o "$out/full.bwdb" --osv "$shared/vulndata/go-vulndb-osv.tar.gz" \
  --osv "$shared/vulndata/pypa-advisory-osv-yaml.tar.gz" --ghsa "$shared/vulndata/ghsa" 2>"$out/build.txt"

# A registry on 127.0.0.1.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$out/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $out/registry}}
http: {addr: 127.0.0.1:$port, secret: bench}
YML
docker-registry serve "$out/registry.yml" >"$out/registry.log" 2>&1 &
regpid=$!
trap 'kill $regpid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done

export COSIGN_PASSWORD=bench
(cd "$out" && "$bin" key generate --output-key-prefix db >/dev/null 2>&1)
repo=127.0.0.1:$port/bulwark-sec/bulwark-db
"$bin" db push --db "$out/full.bwdb" --key "$out/db.key" "$repo" >"$out/digest.txt"
export BULWARK_DB_REPOSITORY=$repo BULWARK_DB_KEY=$out/db.pub BULWARK_CACHE_DIR=$out/cache
layer=$(sha256sum "$out/full.bwdb" | cut -d' ' -f1)
size=$(stat -c %s "$out/full.bwdb")

# The scan target: old Python packages.
t=$out/target
mkdir -p "$t/usr/lib/python3/dist-packages"
for p in PyYAML:5.3 Jinja2:2.10 requests:2.19.0 urllib3:1.24 Django:2.2; do
  d="$t/usr/lib/python3/dist-packages/${p%%:*}-${p#*:}.dist-info"; mkdir -p "$d"
  printf 'Metadata-Version: 2.1\nName: %s\nVersion: %s\n' "${p%%:*}" "${p#*:}" >"$d/METADATA"
done

runs=${RUNS:-5}
read -r upd updrss < <(measure sh -c "rm -rf '$out/cache'; '$bin' db update --no-progress")
read -r floor floorrss < <(measure curl -sf -o /dev/null "http://127.0.0.1:$port/v2/bulwark-sec/bulwark-db/blobs/sha256:$layer")
read -r first firstrss < <(measure sh -c "rm -rf '$out/cache'; '$bin' scan rootfs:$t -f json --no-progress --fail-on never")
read -r warm warmrss < <(measure "$bin" scan "rootfs:$t" -f json --no-progress --fail-on never)
findings=$("$bin" scan "rootfs:$t" -f json --no-progress --fail-on never | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sum(1 for f in r["findings"] if f["gate"]=="vuln"))')
advisories=$("$bin" db info --db "$out/full.bwdb" | awk '/^advisories:/ {print $2}')

{
  echo "database: $advisories advisories, $size bytes (the layer downloaded; manifest and signature add < 2 KB)"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (shared machine)"
  printf '%-30s %8s %10s %12s\n' job seconds rss_mib x_floor
  row "update-empty (pull+verify)" "$upd" "$updrss" "$floor"
  row "floor: curl of the blob" "$floor" "$floorrss" "$floor"
  row "first-scan (empty cache)" "$first" "$firstrss" "$floor"
  row "warm-scan" "$warm" "$warmrss" "$floor"
  echo "vulnerability findings in the target: $findings"
} | tee "$out/results.txt"
