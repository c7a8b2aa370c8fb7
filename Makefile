# outpostwatch — build, test, demo, install.
#
# One build configuration for everything (release): the daemon, the tests (public API only,
# no @testable, so no -enable-testing) and the benchmarks share one .build, so CI compiles
# the dependencies once.

SWIFT      ?= swift
SWIFTFLAGS ?= -c release
BUILD_DIR  := $(shell $(SWIFT) build $(SWIFTFLAGS) --show-bin-path 2>/dev/null || echo .build/release)
BIN        := $(BUILD_DIR)/outpostwatch
PREFIX     ?= /usr/local
DESTDIR    ?=
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTHON     ?= python3

.PHONY: all deps build build-tests test demo bench reliability install test-systemd clean journald

all: build

## deps: system and Python packages the build and the tests need (installed only when missing)
deps:
	@missing=""; for p in libsqlite3-dev libsystemd-dev pkg-config chromium; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@$(PYTHON) -c 'import boto3, botocore, pytest, standardwebhooks' 2>/dev/null || \
	  $(PYTHON) -m pip install -q boto3 botocore pytest standardwebhooks

## build: the release binary
build: deps
	$(SWIFT) build $(SWIFTFLAGS) --product outpostwatch

## build-tests: the binary and every test target, in the same configuration
build-tests: deps
	$(SWIFT) build $(SWIFTFLAGS) --build-tests

## journald: make sure a journald is listening (tests read entries back from it)
journald:
	@scripts/ensure-journald.sh

## test: every test (Swift and Python) against real SQLite, loopback HTTP, journald, botocore
test: build-tests journald
	$(SWIFT) test $(SWIFTFLAGS) --skip-build --parallel --num-workers 2 --skip Benchmarks
	OUTPOSTWATCH_BIN=$(BIN) $(PYTHON) -m pytest -q Tests/python

## demo: the whole pipeline against the embedded simulator, no AWS account needed
demo: build
	$(BIN) demo

## bench: throughput, CPU and memory figures (not part of test)
bench: build-tests
	$(SWIFT) test $(SWIFTFLAGS) --skip-build --filter Benchmarks
	OUTPOSTWATCH_BIN=$(BIN) $(PYTHON) bench/run.py

## reliability: the long fault-injection suite (a short subset runs in make test): daemon
## crashes, receiver outages, throttling storms, store faults, fuzzing, then the secrets scan
## over everything it produced; prints the measured figures, also kept in bench/reliability.json
RELIABILITY_TESTS = Tests/python/test_daemon.py Tests/python/test_reliability.py \
                    $(sort $(wildcard Tests/python/test_fuzz_*.py)) Tests/python/test_zz_secrets.py
reliability: build-tests journald
	OUTPOSTWATCH_BIN=$(BIN) RELIABILITY_FULL=1 RELIABILITY_JSON=bench/reliability.json \
	  $(PYTHON) -m pytest -q $(RELIABILITY_TESTS)

## install: binary (static Swift runtime), unit, catalog, example config; DESTDIR honoured.
## INSTALL_BIN=PATH installs an already built binary instead of building the static one.
INSTALL_BIN ?=
install:
ifeq ($(INSTALL_BIN),)
	$(SWIFT) build $(SWIFTFLAGS) --product outpostwatch --static-swift-stdlib --scratch-path .build-static
endif
	install -D -m 0755 $(or $(INSTALL_BIN),.build-static/release/outpostwatch) $(DESTDIR)$(PREFIX)/bin/outpostwatch
	install -D -m 0644 systemd/outpostwatch.service $(DESTDIR)/usr/lib/systemd/system/outpostwatch.service
	install -D -m 0644 systemd/outpostwatch.catalog $(DESTDIR)/usr/lib/systemd/catalog/outpostwatch.catalog
	@if [ -e $(DESTDIR)/etc/outpostwatch/config.toml ]; then \
	  echo "keeping existing $(DESTDIR)/etc/outpostwatch/config.toml"; \
	else install -D -m 0644 config/outpostwatch.example.toml $(DESTDIR)/etc/outpostwatch/config.toml; fi
	install -D -m 0644 config/outpostwatch.example.toml $(DESTDIR)/usr/share/doc/outpostwatch/config.example.toml
	@if [ -z "$(DESTDIR)" ] && command -v journalctl >/dev/null; then journalctl --update-catalog || true; fi

## test-systemd: the installed daemon under a real systemd in a container
test-systemd: build
	scripts/systemd-test.sh --binary $(BIN)

## test-systemd-standin: the harness itself, with a small C stand-in for the daemon
test-systemd-standin:
	scripts/systemd-test.sh --standin

clean:
	rm -rf .build .build-static
