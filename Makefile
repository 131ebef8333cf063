# Hexiao: make help lists the targets.

GO       ?= go
ifeq ($(origin VERSION),undefined)
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
endif
LDFLAGS  := -X main.version=$(VERSION)
BENCHTIME ?= 1s
PKG      ?= ./...
FUZZTIME ?= 10s
# staticcheck v0.8.2 is release 2026.2.2, the newest the module proxy had
# when pinned (go list -m honnef.co/go/tools@latest). Run with go run, never
# added to go.mod.
STATICCHECK_VERSION ?= v0.8.2

.DEFAULT_GOAL := help
.PHONY: help build deps test bench fuzz lint run clean

help: ## list the targets
	@echo 'usage: make TARGET [VAR=value]'
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-7s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo 'variables: VERSION=$(VERSION) BENCHTIME=$(BENCHTIME) PKG=$(PKG) FUZZTIME=$(FUZZTIME) DATA=$(DATA)'

build: ## build bin/hexiao-hub and bin/hexiao-terminal (VERSION stamps them)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./hub/cmd/hexiao-hub ./terminal/cmd/hexiao-terminal

deps: ## check (as root: install) the Debian packages and the Go the tests need
	@scripts/deps.sh

test: deps ## gofmt, go vet, go mod verify, go mod tidy check, go test -race, every benchmark once
	@scripts/gofmt.sh
	$(GO) vet ./...
	$(GO) mod verify
	@echo '$(GO) mod tidy -diff'
	@$(GO) mod tidy -diff || { echo 'go.mod/go.sum are not tidy: run go mod tidy (diff above)' >&2; exit 1; }
	$(GO) test -race -count=1 ./...
	@echo 'benchmarks, once each (-short skips the 1,000,000-code set-ups)'
	@out=$$(mktemp) && $(GO) test -run='^$$' -bench=. -benchtime=1x -short -count=1 ./... > $$out 2>&1 \
		|| { cat $$out; rm -f $$out; exit 1; }; rm -f $$out

bench: ## run benchmarks (BENCHTIME=1s, PKG=./...)
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) -count=1 $(PKG)

fuzz: ## run every fuzz target for FUZZTIME each (default 10s), stop at the first failure
	@FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

lint: ## go vet and staticcheck
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

DATA ?= ./data

run: build ## start the hub on embedded defaults with demo data in DATA (./data); Ctrl-C stops it
	@bin/hexiao-hub demo --data $(DATA)
	@echo
	@echo 'Starting the hub (Ctrl-C stops it). Dashboard: http://127.0.0.1:8480/ (users above, also in $(DATA)/demo.txt); API token: $(DATA)/admin.token'
	bin/hexiao-hub serve --data $(DATA)

clean: ## remove bin/ (DATA is kept: it is a ledger)
	rm -rf bin/
