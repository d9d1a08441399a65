# clnrest: `make` builds bin/clnrest; `make test` runs vet and every test with -race.
GO      ?= go
BIN     := bin/clnrest
GOFLAGS ?=

.PHONY: all build test test-short demo bench soak fuzz clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) .

# The whole suite: unit tests, integration tests through the real binary
# under the simulated lightningd, and the Python/Node/Chromium client checks
# (they skip with a message when their tools are not installed; .ci/run
# installs them).
test: build
	$(GO) vet ./...
	CLNREST_BIN=$(CURDIR)/$(BIN) $(GO) test -race -count=1 -timeout 30m ./...

test-short:
	$(GO) test -short -count=1 ./...

# Try clnrest without a node: a simulated lightningd with clnrest on
# https://127.0.0.1:3010 until Ctrl-C.
demo: build
	$(GO) run ./cmd/clnrest-demo -plugin $(CURDIR)/$(BIN)

clean:
	rm -rf bin
