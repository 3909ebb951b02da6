# lanewatch — see README.md. `make run` and `make test` are the two commands that matter.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/.tools/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
PKGS := ./...

.PHONY: all build run test tools lint vet fmt-check staticcheck unit rules-check fuzz-short bench clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/lanewatch ./cmd/lanewatch

tools:
	@scripts/ensure-tools.sh

## run: build, start a local InfluxDB and lanewatch with configs/ and a simulated fleet.
## MQTT_ADDR and HTTP_ADDR override the listen addresses (default 127.0.0.1:1883 / :8080).
run: build
	@scripts/run.sh

## test: the whole suite (installs and starts what it needs).
test: tools lint unit rules-check fuzz-short

lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.tools/*' -not -path './.run/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(BIN)/staticcheck $(PKGS)

unit:
	PATH=$(BIN):$$PATH $(GO) test -race -timeout 12m -count=1 $(PKGS)

rules-check: build
	bin/lanewatch rules check --categories configs/categories.yaml configs/rules

## fuzz-short: each fuzz target for a few seconds (the seed corpus always runs in `unit`).
FUZZTIME ?= 4s
fuzz-short:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null; \
	  done; done

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin .run
