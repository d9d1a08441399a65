# clnrest: `make` builds bin/clnrest; `make test` runs vet and every test with -race.
GO      ?= go
BIN     := bin/clnrest
GOFLAGS ?=

.PHONY: all build run test test-short demo bench soak fuzz clean

# Options for `make run` against a running lightningd.
PORT           ?= 3010
LIGHTNING_CLI  ?= lightning-cli
LIGHTNING_ARGS ?=

all: build

build:
	$(GO) build -trimpath -o $(BIN) .

# The whole suite: unit tests, integration tests through the real binary
# under the simulated lightningd, and the Python/Node/Chromium client checks
# (they skip with a message when their tools are not installed; .ci/run
# installs them).
test: build
	$(GO) vet ./...
	# -p 1: one package at a time, so the timing-sensitive end-to-end tests
	# (storm, slow clients, shutdown) do not share 2 cores with other packages.
	$(GO) test -race -count=1 -p 1 -timeout 30m ./...

# Every fuzz target for a short bounded time each (FUZZTIME, default 10s),
# one after the other: none may panic, hang or break its invariants.
# The seed corpora in <pkg>/testdata/fuzz/ also run in `make test`.
FUZZTIME    ?= 10s
FUZZ_TARGETS = codec:FuzzDecodeJSON codec:FuzzDecodeYAML codec:FuzzDecodeXML codec:FuzzDecodeForm \
               codec:FuzzTokenReader lnrpc:FuzzValueScanner plugin:FuzzRun runeauth:FuzzUniqueID runeauth:FuzzWriteString \
               rest:FuzzPaths server:FuzzFastPathMatchesNetHTTP \
               internal/lightningdtest:FuzzPlainLogNotification

# Go 1.26 can fail a target with "context deadline exceeded" just as
# -fuzztime ends, with no failing input (a race in its fuzzing coordinator,
# golang/go#75804, fixed in Go 1.27). A failed run that wrote no failing
# input into <pkg>/testdata/fuzz/ is run once more; one that wrote an input,
# or fails twice, fails `make fuzz`.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; dir=$$pkg/testdata/fuzz/$$name; \
		for try in 1 2; do \
			echo "fuzz $$name ./$$pkg for $(FUZZTIME)"; \
			before=$$(ls $$dir 2>/dev/null | wc -l); \
			if $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) ./$$pkg; then break; fi; \
			if [ $$try = 2 ] || [ "$$(ls $$dir 2>/dev/null | wc -l)" != "$$before" ]; then exit 1; fi; \
			echo "$$name failed without writing a failing input (golang/go#75804?): once more"; \
		done; \
	done

test-short:
	$(GO) test -short -count=1 ./...

# Build and run: start clnrest in the running lightningd (as a dynamic
# plugin, on PORT) when lightning-cli reaches one, else run the demo node.
run: build
	@if command -v $(LIGHTNING_CLI) >/dev/null 2>&1 && $(LIGHTNING_CLI) $(LIGHTNING_ARGS) getinfo >/dev/null 2>&1; then \
		echo "starting $(BIN) in the running lightningd on port $(PORT)"; \
		$(LIGHTNING_CLI) $(LIGHTNING_ARGS) -k plugin subcommand=start plugin=$(CURDIR)/$(BIN) clnrest-port=$(PORT); \
	else \
		echo "no running lightningd reachable with $(LIGHTNING_CLI) $(LIGHTNING_ARGS): starting the demo node"; \
		$(GO) run ./cmd/clnrest-demo -plugin $(CURDIR)/$(BIN) -port $(PORT); \
	fi

# Try clnrest without a node: a simulated lightningd with clnrest on
# https://127.0.0.1:3010 until Ctrl-C.
demo: build
	$(GO) run ./cmd/clnrest-demo -plugin $(CURDIR)/$(BIN)

# Soak: clnrest under a simulated lightningd with mixed REST traffic,
# Socket.IO clients coming and going and notifications flowing, for
# SOAK_DURATION (default 10m); prints figures every 30 s and fails unless
# there were no unexpected errors and RSS and goroutines stayed flat.
SOAK_DURATION ?= 10m
soak: build
	$(GO) run ./cmd/clnrest-soak -plugin $(CURDIR)/$(BIN) -duration $(SOAK_DURATION)

# Benchmarks: throughput and latency of POST /v1/getinfo next to the
# direct lightning-rpc ceilings, large results, isolation, a 2,000-client
# burst; one table on stdout in about five minutes (never more than nine).
# Against the simulated lightningd, or a running one with
# LIGHTNING_DIR=<dir> (LIGHTNING_NETWORK, default regtest). See
# "Performance" in README.md.
bench: build
	$(GO) build -o bin/clnrest-bench ./cmd/clnrest-bench
	bin/clnrest-bench -bin $(BIN) -lightning-dir "$(LIGHTNING_DIR)"

clean:
	rm -rf bin
