#!/bin/bash
# Proves that bulwark's release build is reproducible: builds the committed
# tree (HEAD) with the release flags twice, from two copies of the source in
# different directories, the first with the usual build cache and the
# second with an empty one, and compares the bytes. The release workflow
# builds each target twice as well; this is the stronger local check.
# usage: bench/repro.sh [GOOS/GOARCH]   (default linux/amd64; the empty
# cache means a full compile: minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-linux/amd64}
pkg=github.com/bulwark-sec/bulwark/internal/buildinfo
ldflags="-s -w -buildid= -X $pkg.Version=repro -X $pkg.Commit=$(git rev-parse HEAD)"
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/one/src" "$tmp/another/path/src" "$tmp/cache"
git archive HEAD | tar -x -C "$tmp/one/src"
git archive HEAD | tar -x -C "$tmp/another/path/src"
build() { # SRC GOCACHE OUT
  (cd "$1" && CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} GOCACHE=$2 \
    go build -trimpath -ldflags "$ldflags" -o "$3" ./cmd/bulwark)
}
start=$(date +%s)
build "$tmp/one/src" "$(go env GOCACHE)" "$tmp/a"
mid=$(date +%s)
build "$tmp/another/path/src" "$tmp/cache" "$tmp/b"
end=$(date +%s)
sha256sum "$tmp/a" "$tmp/b" | sed "s|$tmp/||"
echo "build with the usual cache: $((mid - start)) s; from another directory with an empty cache: $((end - mid)) s"
if cmp -s "$tmp/a" "$tmp/b"; then
  echo "reproducible: the two $target builds are byte-identical"
else
  echo "NOT reproducible: the two $target builds differ"; exit 1
fi
