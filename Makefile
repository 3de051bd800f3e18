# Coat Tail Capital. `make run` and `make test` are all a fresh machine needs.
GO      ?= go
BIN     := bin/coattail
PKGS    := ./...
FUZZTIME ?= 10s

.PHONY: all build run test unit lint fmt vet fuzz fuzz-short bench chaos services clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/coattail

## services: make sure Postgres and Redis answer (start them if installed but stopped)
services:
	@./deploy/services.sh

## run: the whole system on the generated demo market, with HTTP and the console chat
run: services build
	./$(BIN) run

## test: formatting, vet, the race-enabled test suite against real Postgres and Redis, short fuzzing
test: services lint
	$(GO) test -race -count=1 -timeout 15m $(PKGS)
	$(MAKE) fuzz-short

unit:
	$(GO) test -count=1 $(PKGS)

lint: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## fuzz-short: every fuzz target briefly (1000 inputs each, part of make test); fuzz: each for FUZZTIME (FUZZTIME=5m make fuzz)
FUZZ_TARGETS := ./event/:FuzzDecode ./event/:FuzzParseDecimal ./bot/:FuzzHandle \
	./ingest/binance/:FuzzFrame ./ingest/coinbase/:FuzzFrame \
	./ingest/hyperliquid/:FuzzTradesFrame ./ingest/hyperliquid/:FuzzUserFills ./ingest/evm/:FuzzDecodeLog \
	./bot/:FuzzSettings ./bot/discord/:FuzzInteraction ./bot/discord/:FuzzParseFilter ./bot/telegram/:FuzzWebhookUpdate ./bot/telegram/:FuzzCallbackData ./ingest/replay/:FuzzReadReplay ./api/:FuzzQueryParams ./api/:FuzzFollowRequest

# fuzz-short counts executions rather than seconds: with a duration, Go 1.26's fuzzing
# coordinator can report "context deadline exceeded" as a failure when the time runs out
# mid-input on a busy machine (go.dev/issue/75804, fixed in Go 1.27).
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=1000x

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

## bench: throughput of the spine beside the raw Redis round trip, into docs/BENCHMARKS.md
bench: services build
	./$(BIN) bench --events 500000 --wallets 1000000 --workers 1,3 --latency 1000,5000,20000 --followers 10000 --out docs/BENCHMARKS.md

## chaos: the long chaos suite (1M-event replays with workers SIGKILLed, Redis and Postgres
## restarted, a 1M-line dead-letter flood); make test runs the same tests at 100k events
chaos: services
	COATTAIL_CHAOS_LONG=1 $(GO) test -count=1 -timeout 90m -v ./chaos/

clean:
	rm -rf bin
