#!/bin/bash
# Builds Go programs against pinned old module versions (through the Go
# module proxy), then lists the vulnerability IDs that bulwark and
# govulncheck (binary mode) report for each, on the same Go vulnerability
# database (../shared/vulndata/go-vulndb-osv.tar.gz; govulncheck reads it as
# a local file database laid out by govulndb-index.py).
# usage: bench/scan/compare-govulncheck.sh    (writes bench/out/govulncheck.txt)
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${SHARED:-../shared}
out=bench/out/govulncheck
rm -rf "$out"; mkdir -p "$out/osv" "$out/bin" "$out/src"
command -v govulncheck >/dev/null || PATH=$PATH:$(go env GOPATH)/bin
command -v govulncheck >/dev/null || { echo "install it: go install golang.org/x/vuln/cmd/govulncheck@latest" >&2; exit 2; }
tar -xzf "$shared/vulndata/go-vulndb-osv.tar.gz" -C "$out/osv"
python3 bench/scan/govulndb-index.py "$out/osv" "$out/filedb"
go build -trimpath -o bench/out/bulwark-go ./cmd/bulwark
bench/out/bulwark-go db build -o "$out/go.bwdb" --osv "$out/osv" 2>/dev/null

# name  module@version  import  code using it
progs=(
  "xnet|golang.org/x/net@v0.0.0-20210428140749-89ef3d95e781|golang.org/x/net/html|html.Parse(strings.NewReader(\"<p>\"))"
  "xtext|golang.org/x/text@v0.3.5|golang.org/x/text/language|language.Parse(\"en-US\")"
  "xcrypto|golang.org/x/crypto@v0.0.0-20200622213623-75b288015ac9|golang.org/x/crypto/ssh|ssh.ParsePublicKey(nil)"
)
for p in "${progs[@]}"; do
  IFS='|' read -r name modver imp call <<<"$p"
  d="$out/src/$name"; mkdir -p "$d"
  printf 'module example.com/%s\n\ngo 1.21\n\nrequire %s %s\n' "$name" "${modver%@*}" "${modver#*@}" >"$d/go.mod"
  printf 'package main\n\nimport (\n\t"fmt"\n\t"strings"\n\n\t"%s"\n)\n\nvar _ = strings.NewReader\n\nfunc main() { fmt.Println(%s) }\n' "$imp" "$call" >"$d/main.go"
  (cd "$d" && GOWORK=off CGO_ENABLED=0 go build -mod=mod -o "../../bin/$name" .)
done

report=bench/out/govulncheck.txt
: >"$report"
for bin in "$out"/bin/*; do
  name=$(basename "$bin")
  mkdir -p "$out/root-$name/app"; cp "$bin" "$out/root-$name/app/"
  bench/out/bulwark-go scan "$out/root-$name" --db "$out/go.bwdb" --offline --scanners vuln -f json -o "$out/$name.bulwark.json" || [ $? -eq 1 ]
  python3 -c 'import json,sys; print("\n".join(sorted({f["id"] for f in json.load(open(sys.argv[1]))["findings"]})))' "$out/$name.bulwark.json" >"$out/$name.bulwark.ids"
  govulncheck -mode=binary -db "file://$PWD/$out/filedb" -format json "$bin" >"$out/$name.govulncheck.json" || true
  # every finding govulncheck emits (symbol, package and module level), and
  # those it traces to a called symbol
  python3 - "$out/$name.govulncheck.json" "$out/$name" <<'PY'
import json, sys
data, all_ids, called = open(sys.argv[1]).read(), set(), set()
dec, i = json.JSONDecoder(), 0
while i < len(data):
    while i < len(data) and data[i].isspace(): i += 1
    if i >= len(data): break
    obj, i = dec.raw_decode(data, i)
    f = obj.get("finding")
    if f:
        all_ids.add(f["osv"])
        if f.get("trace") and f["trace"][0].get("function"): called.add(f["osv"])
open(sys.argv[2] + ".govulncheck.ids", "w").write("\n".join(sorted(all_ids)) + "\n")
open(sys.argv[2] + ".govulncheck-called.ids", "w").write("\n".join(sorted(called)) + "\n")
PY
  {
    echo "== $name: bulwark $(wc -l <"$out/$name.bulwark.ids"), govulncheck $(grep -c . "$out/$name.govulncheck.ids") (called: $(grep -c . "$out/$name.govulncheck-called.ids"))"
    echo "only bulwark:     $(comm -23 "$out/$name.bulwark.ids" <(grep . "$out/$name.govulncheck.ids") | tr '\n' ' ')"
    echo "only govulncheck: $(comm -13 "$out/$name.bulwark.ids" <(grep . "$out/$name.govulncheck.ids") | tr '\n' ' ')"
  } | tee -a "$report"
done
