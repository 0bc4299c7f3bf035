#!/bin/bash
# Installs an npm tree of old package versions from the npm registry, then
# lists the vulnerability IDs that bulwark and osv-scanner (offline, on a
# local all.zip) report for it, on the same advisory data: the npm records
# of the GHSA sample in ../shared/vulndata/ghsa.
# usage: bench/scan/compare-osv-scanner.sh   (needs npm, osv-scanner:
#   go install github.com/google/osv-scanner/v2/cmd/osv-scanner@v2.2.4)
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${SHARED:-../shared}
out=bench/out/osvscanner
rm -rf "$out"; mkdir -p "$out/app" "$out/ghsa-npm" "$out/cache/osv-scanner/npm"
command -v osv-scanner >/dev/null || PATH=$PATH:$(go env GOPATH)/bin
command -v osv-scanner >/dev/null || { echo "install it: go install github.com/google/osv-scanner/v2/cmd/osv-scanner@v2.2.4" >&2; exit 2; }

# The advisory data: the sample's npm records, as a directory for bulwark
# and as the per-ecosystem all.zip osv-scanner reads offline.
for f in "$shared"/vulndata/ghsa/GHSA-*.json; do
  grep -q '"ecosystem": *"npm"' "$f" && cp "$f" "$out/ghsa-npm/"
done
(cd "$out/ghsa-npm" && python3 -c 'import zipfile,glob; z=zipfile.ZipFile("../cache/osv-scanner/npm/all.zip","w"); [z.write(f) for f in sorted(glob.glob("*.json"))]')

# The npm tree: direct dependencies pinned to versions with known advisories.
(cd "$out/app" && echo '{"name":"bench-npm","version":"1.0.0","private":true}' >package.json &&
  npm install --silent --no-audit --no-fund \
    lodash@4.17.15 handlebars@4.5.2 minimist@1.2.0 tar@4.4.10 axios@0.21.1 \
    jsonwebtoken@8.5.1 semver@5.7.0 node-fetch@2.6.0 express@4.17.1 >/dev/null)

go build -trimpath -o bench/out/bulwark-go ./cmd/bulwark
bench/out/bulwark-go db build -o "$out/npm.bwdb" --ghsa "$out/ghsa-npm" 2>/dev/null
bench/out/bulwark-go scan "$out/app" --db "$out/npm.bwdb" --offline --scanners vuln -f json -o "$out/bulwark.json" || [ $? -eq 1 ]
OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY=$PWD/$out/cache osv-scanner scan source --offline-vulnerabilities \
  -L "$out/app/package-lock.json" --format json >"$out/osv-scanner.json" 2>"$out/osv-scanner.log" || true

# "ID package@version" pairs from each tool
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
b = {(f["id"], f["vuln"]["package"] + "@" + f["vuln"]["installedVersion"])
     for f in json.load(open(out + "/bulwark.json"))["findings"] if f.get("vuln")}
o = set()
for r in json.load(open(out + "/osv-scanner.json")).get("results", []):
    for p in r.get("packages", []):
        pv = p["package"]["name"] + "@" + p["package"]["version"]
        for v in p.get("vulnerabilities", []):
            o.add((v["id"], pv))
fmt = lambda s: "\n".join(f"    {i} {p}" for i, p in sorted(s)) or "    (none)"
with open("bench/out/osv-scanner.txt", "w") as f:
    f.write(f"bulwark {len(b)} findings, osv-scanner {len(o)} findings, in both {len(b & o)}\n")
    f.write("only bulwark:\n" + fmt(b - o) + "\nonly osv-scanner:\n" + fmt(o - b) + "\n")
PY
cat bench/out/osv-scanner.txt
