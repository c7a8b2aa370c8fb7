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

.PHONY: all build-deps deps build build-tests test rules demo bench reliability static deb test-deb install test-systemd clean journald

all: build

## build-deps: what building needs (installed only when missing); demo and install need no more
build-deps:
	@missing=""; for p in libsqlite3-dev libsystemd-dev pkg-config; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

## deps: system and Python packages the tests need besides the build's (installed only when missing);
## postgresql for the server scripts/pg-test-server.sh starts per test (Tests/python/pg_support.py)
deps: build-deps
	@missing=""; for p in lintian tinyproxy chromium dpkg-dev postgresql; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi; \
	case "$$missing" in *tinyproxy*) \
	  echo "stopping and disabling the tinyproxy daemon the package started (tests start their own)"; \
	  $(SUDO) sh -c 'service tinyproxy stop; systemctl disable tinyproxy; update-rc.d tinyproxy disable' \
	    >/dev/null 2>&1 || true;; esac; \
	case "$$missing" in *postgresql*) \
	  echo "stopping and disabling the PostgreSQL cluster the package started (tests start their own: scripts/pg-test-server.sh)"; \
	  $(SUDO) sh -c 'service postgresql stop; systemctl disable postgresql; update-rc.d postgresql disable' \
	    >/dev/null 2>&1 || true;; esac
	@$(PYTHON) -c 'import boto3, botocore, pytest, standardwebhooks' 2>/dev/null || \
	  $(PYTHON) -m pip install -q boto3 botocore pytest standardwebhooks
	@$(PYTHON) -c 'import moto.server, flask, flask_cors' 2>/dev/null || \
	  $(PYTHON) -m pip install -q "moto[server]"
	@scripts/install-validators.sh

## build: the release binary
build: build-deps
	$(SWIFT) build $(SWIFTFLAGS) --product outpostwatch

## build-tests: the binary and every test target, in the same configuration
build-tests: deps
	$(SWIFT) build $(SWIFTFLAGS) --build-tests

## journald: make sure a journald is listening (tests read entries back from it)
journald:
	@scripts/ensure-journald.sh

## test: every test (Swift and Python) against real SQLite, loopback HTTP, journald, botocore
test: build-tests journald rules
	$(SWIFT) test $(SWIFTFLAGS) --skip-build --parallel --num-workers 2 --skip Benchmarks
	OUTPOSTWATCH_BIN=$(BIN) $(PYTHON) -m pytest -q Tests/python

## rules: the Prometheus alert rules (docs/metrics.md) checked and unit-tested by promtool
RULES := config/prometheus/outpostwatch.rules.yml
rules: deps
	promtool check rules $(RULES)
	cd $(dir $(RULES)) && promtool test rules outpostwatch.rules.test.yml

## demo: the whole pipeline against the embedded simulator, no AWS account needed
demo: build
	$(BIN) demo

## bench: throughput, CPU and memory figures (not part of test)
bench: build-tests
	$(SWIFT) test $(SWIFTFLAGS) --skip-build --filter Benchmarks
	OUTPOSTWATCH_BIN=$(BIN) $(PYTHON) bench/run.py
	OUTPOSTWATCH_BIN=$(BIN) $(PYTHON) bench/status_page.py

## reliability: the long fault-injection suite (a short subset runs in make test): daemon
## crashes, receiver outages, throttling storms, store faults, fuzzing, then the secrets scan
## over everything it produced; prints the measured figures, also kept in bench/reliability.json
RELIABILITY_TESTS = Tests/python/test_daemon.py Tests/python/test_reliability.py \
                    $(sort $(wildcard Tests/python/test_fuzz_*.py)) Tests/python/test_zz_secrets.py
reliability: build-tests journald
	OUTPOSTWATCH_BIN=$(BIN) RELIABILITY_FULL=1 RELIABILITY_JSON=bench/reliability.json \
	  $(PYTHON) -m pytest -q $(RELIABILITY_TESTS)

## static: the release binary linked once more, against the static Swift runtime: the same
## object code make test tested, no second compilation (scripts/static-relink.py says why)
STATIC_BIN := $(BUILD_DIR)/static/outpostwatch
static: build
	$(PYTHON) scripts/static-relink.py $(BUILD_DIR) $(STATIC_BIN)

## manual-tool: swift-argument-parser's generate-manual (what its generate-manual plugin runs),
## built from the checkout SwiftPM already has, in a scratch path of its own
MANUAL_TOOL := .build-tools/argument-parser/release/generate-manual
$(MANUAL_TOOL): build
	$(SWIFT) build -c release --product generate-manual --scratch-path .build-tools/argument-parser \
	  --package-path $(BUILD_DIR)/../../checkouts/swift-argument-parser

## deb: outpostwatch_VERSION_ARCH.deb (docs/service.md): binary, unit, catalog, conffile,
## man page, completions
VERSION := $(shell sed -n 's/.*static let string = "\(.*\)"/\1/p' Sources/WatchModel/Version.swift)
DEB     := outpostwatch_$(VERSION)_$(shell dpkg --print-architecture 2>/dev/null).deb
deb: deps static $(MANUAL_TOOL)
	scripts/build-deb.sh $(STATIC_BIN) $(MANUAL_TOOL) .

## test-deb: the package from outside: lintian (no error), contents, the extracted binary
test-deb: deps deb
	OUTPOSTWATCH_DEB=$(DEB) $(PYTHON) -m pytest -q Tests/package

## install: binary (static Swift runtime), unit (ExecStart under PREFIX), catalog, example
## config; DESTDIR honoured. INSTALL_BIN=PATH installs that binary instead of make static's.
INSTALL_BIN ?=
install: $(if $(INSTALL_BIN),,static)
	install -D -m 0755 $(or $(INSTALL_BIN),$(STATIC_BIN)) $(DESTDIR)$(PREFIX)/bin/outpostwatch
	install -d $(DESTDIR)/usr/lib/systemd/system
	sed 's|^ExecStart=/usr/bin/outpostwatch |ExecStart=$(PREFIX)/bin/outpostwatch |' systemd/outpostwatch.service \
	  > $(DESTDIR)/usr/lib/systemd/system/outpostwatch.service
	chmod 0644 $(DESTDIR)/usr/lib/systemd/system/outpostwatch.service
	install -D -m 0644 systemd/outpostwatch.catalog $(DESTDIR)/usr/lib/systemd/catalog/outpostwatch.catalog
	@if [ -e $(DESTDIR)/etc/outpostwatch/config.toml ]; then \
	  echo "keeping existing $(DESTDIR)/etc/outpostwatch/config.toml"; \
	else install -D -m 0644 config/outpostwatch.example.toml $(DESTDIR)/etc/outpostwatch/config.toml; fi
	install -D -m 0644 config/outpostwatch.example.toml $(DESTDIR)/usr/share/doc/outpostwatch/config.example.toml
	@if [ -z "$(DESTDIR)" ] && command -v journalctl >/dev/null; then journalctl --update-catalog || true; fi

## test-systemd: the .deb of make deb, installed with apt in a container booted with systemd
test-systemd: deb
	scripts/systemd-test.sh --deb $(DEB)

## test-systemd-standin: the harness itself, with a small C stand-in for the daemon
test-systemd-standin:
	scripts/systemd-test.sh --standin

clean:
	rm -rf .build .build-static .build-tools outpostwatch_*.deb
