# lanewatch — see README.md. `make run` and `make test` are the two commands that matter.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/.tools/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
PKGS := ./...

.PHONY: all build run test tools lint vet fmt-check staticcheck unit rules-check fuzz-short bench bench-cluster clean

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

# third_party/mochi-mqtt-server is a module of its own (lanewatch's mochi fork, see its
# PATCHES.md): ./... does not include it, so vet and unit run it from its directory.
FORK := third_party/mochi-mqtt-server

vet:
	$(GO) vet $(PKGS)
	cd $(FORK) && $(GO) vet ./...

staticcheck:
	$(BIN)/staticcheck $(PKGS)

unit:
	PATH=$(BIN):$$PATH $(GO) test -race -timeout 12m -count=1 $(PKGS)
	cd $(FORK) && $(GO) test -race -count=1 ./...
	@# Allocation tests skip under -race (sync.Pool drops items at random there), and the race
	@# detector keeps idle stacks large (TestIdleConnectionMemory is !race): run them plain.
	$(GO) test -count=1 -run 'Allocs|DoesNotAllocate|TestIdleConnectionMemory' ./gateway ./gateway/payload ./influx

rules-check: build
	bin/lanewatch rules check --config configs/lanewatch.yaml configs/rules
	bin/lanewatch rules test --config configs/lanewatch.yaml configs/rules/*_test.yaml
	bin/lanewatch config check --config configs/lanewatch.yaml

## fuzz-short: each fuzz target for a few seconds (the seed corpus always runs in `unit`).
FUZZTIME ?= 4s
fuzz-short:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    if ! out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); then \
	      if echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input'; then \
	        echo "  (go's fuzz coordinator hit its own deadline; running $$f once more)"; \
	        out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) || { echo "$$out" | tail -40; exit 1; }; \
	      else echo "$$out" | tail -40; exit 1; fi; \
	    fi; \
	  done; done

## bench: Go micro-benchmarks of the hot paths, then the end-to-end benchmark (scripts/bench.sh:
## Mosquitto vs lanewatch broker-only vs full pipeline; writes docs/BENCHMARKS.md and
## docs/bench-results.json). BENCH_PKGS, BENCHTIME and the BENCH_* variables of the script tune it.
BENCH_PKGS ?= ./gateway/payload ./influx ./wal ./rules ./coverage ./store/sqlstore ./simulators/... ./jt808
BENCHTIME ?= 200ms
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) \
	  $$(for p in $(BENCH_PKGS); do [ -d "$${p%/...}" ] && echo $$p; done) | tee /tmp/lanewatch-bench-go.txt
	BENCH_GO_FILE=/tmp/lanewatch-bench-go.txt scripts/bench.sh

## bench-cluster: throughput of 1, 2 and 3 lanewatch nodes on one PostgreSQL (127.0.0.1:5432) and
## one InfluxDB, clients spread round-robin over the nodes (scripts/bench-cluster.sh; rewrites the
## table in docs/BENCHMARKS.md "Multi-node"). On 2 cores this shows the overhead of more nodes.
bench-cluster: BENCH_CLIENTS ?= 60
bench-cluster: BENCH_MESSAGES ?= 300000
bench-cluster: BENCH_NODES ?= 1 2 3
bench-cluster:
	BENCH_CLIENTS=$(BENCH_CLIENTS) BENCH_MESSAGES=$(BENCH_MESSAGES) BENCH_NODES="$(BENCH_NODES)" scripts/bench-cluster.sh

clean:
	rm -rf bin .run
