# hush — make build test lint fuzz bench install
SHELL := /usr/bin/env bash
GO ?= go
PREFIX ?=
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# urfave_cli_no_docs drops the markdown/man generators (blackfriday), whose
# package init costs every command about 1.5 ms.
BUILDTAGS := urfave_cli_no_docs
LDFLAGS := -s -w -X main.version=$(VERSION)
CACHE_BIN := $(CURDIR)/.cache/bin
export PATH := $(CACHE_BIN):$(PATH)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.7.0
FUZZTIME ?= 30s
FUZZMIN ?= 2s

.PHONY: build test test-short lint fuzz fuzz-ci bench bench-scan bench-posture install deps vault pebble kube man clean release

# A static binary: with cgo, os/user and net pull in libc, and the dynamic
# loader costs every command about 3 ms before main; the pure-Go user and
# DNS lookups serve hush as well. (Tests keep cgo: -race needs it.)
# hush-sops, the companion that links the sops library, is built beside
# hush (see sync/sopsfile for why it is separate), and so is hush-cloud,
# which links the AWS SDK for hush ssm (see sync/cloud).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(BUILDTAGS)' -ldflags '$(LDFLAGS)' -o hush ./cmd/hush
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o hush-sops ./cmd/hush-sops
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o hush-cloud ./cmd/hush-cloud

deps:
	.ci/deps

# The real Vault server the sync tests run, built from its Go module, and
# the external plugins it runs (the database engine's PostgreSQL plugin).
vault:
	.ci/vault
	.ci/vault-plugins

# pebble, Let's Encrypt's ACME test CA, and its DNS test server (make deps
# runs it too).
pebble:
	.ci/pebble

# The real kube-apiserver the sync/k8s tests run over Debian's etcd, built
# from k8s.io/kubernetes (.ci/kube.d); make deps runs it too.
kube:
	.ci/kube

# The whole suite, real components included (installed by .ci/deps).
test: deps
	$(GO) vet ./...
	GOOS=darwin $(GO) build -o /dev/null ./cmd/hush
	GOOS=windows $(GO) build -o /dev/null ./cmd/hush
	$(GO) build -o /dev/null ./cmd/hush-sops # the scripts build it again: from cache
	$(GO) build -o /dev/null ./cmd/hush-cloud
	$(GO) test -race -parallel 4 -timeout 45m $$($(GO) list ./... | grep -v '/sopslib$$')
	@# sopslib is single-goroutine glue around the sops library; under -race
	@# its ~1,000 dependencies would all be compiled again, minutes on a new
	@# machine, to instrument code that starts no goroutine of its own.
	$(GO) test -timeout 10m ./sync/sopsfile/sopslib
	$(MAKE) fuzz-ci

test-short:
	$(GO) test -short ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) mod tidy -diff

# Every fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m for a campaign).
FUZZ_TARGETS := $(shell grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
fuzz:
	@for d in $(FUZZ_TARGETS); do \
		for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$d/*_test.go | sed 's/^func //'); do \
			echo "fuzz $$d $$f"; $(GO) test $$d -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) || exit 1; \
		done; \
	done

# A short run per target, as part of make test. Budgets are counts, not
# seconds: a time budget that runs out while the fuzzer minimizes a new
# input makes go test fail with "context deadline exceeded" (seen in CI).
fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=10000x FUZZMIN=100x

bench: build deps
	.ci/bench

# hush scan against gitleaks on a generated ~80 MB corpus: MB/s, recall,
# false positives and peak memory for both.
bench-scan: build
	HUSH_CMD="$(CURDIR)/hush scan --no-known --format json" scan/bench.sh

# hush posture on 10 environments x 1,000 secrets, alone and with a 200 MB
# docker-save image.
bench-posture:
	go test ./session -run '^$$' -bench Posture -benchtime=2x -benchmem

install:
	./install.sh $(if $(PREFIX),--prefix $(PREFIX))

# Archives for linux/darwin/windows × amd64/arm64 with SHA256SUMS, in dist/
# (TARGETS="linux/amd64" for one).
release:
	.ci/release $(VERSION) $(TARGETS)

# hush.1, rendered from the CLI itself.
man: build
	./hush man > hush.1

clean:
	rm -f hush hush-sops hush-cloud
