#!/bin/sh
# Measures the vulnerability database on ../shared/vulndata (override with
# BULWARK_VULNDATA): build time, open time, 500-package lookup time, and the
# file size against the compressed sources. No peer tool is run: trivy-db and
# grype's database cannot be built offline from the same sources.
set -eu
cd "$(dirname "$0")"
go test -run '^$' -bench . -benchtime "${BENCHTIME:-5x}" -count "${COUNT:-1}" .
