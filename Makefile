# Build and test bulwark. `make test` is what .ci/run runs.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG     := github.com/bulwark-sec/bulwark/internal/buildinfo
LDFLAGS := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).Date=$(DATE)

.PHONY: build build-isal test vet fuzz repro
build:
	go build -trimpath -ldflags "$(LDFLAGS)" -o bulwark ./cmd/bulwark

# ISA-L's inflate (cgo; apt-get install libisal-dev) for the fastest layer reads.
build-isal:
	CGO_ENABLED=1 go build -tags isal -trimpath -ldflags "$(LDFLAGS)" -o bulwark ./cmd/bulwark

test:
	go test ./...

# Every fuzz target for FUZZTIME (default 10m each, once per release), with
# its rate in execs/s; FUZZTIME=10s make fuzz is a quick check.
fuzz:
	bash bench/fuzz.sh

# Two -trimpath builds with the release flags, from two directories and two
# build caches (one empty), must be byte-identical (see docs/release.md).
repro:
	bash bench/repro.sh

vet:
	gofmt -l . | (! grep .) && go vet ./...
