# The two commands a newcomer needs: `make up` (local kind lab) and `make test` (offline suite).
# Every target makes sure pipenv is present and the committed Pipfile.lock is synced into ./.venv first.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ENV ?= local
PYTHON ?= python3
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export PIPENV_IGNORE_VIRTUALENVS := 1

PIPENV := $(PYTHON) -m pipenv
RUN := $(PIPENV) run
VENV_STAMP := .venv/.synced

.PHONY: help deps tools test-deps up down plan verify drift reconcile test unit lint test-cluster

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# pipenv itself, then `pipenv sync --dev` whenever Pipfile.lock is newer than the last sync.
deps: $(VENV_STAMP) ## Install pipenv and sync the locked environment into ./.venv

$(VENV_STAMP): Pipfile.lock
	@$(PYTHON) -m pipenv --version >/dev/null 2>&1 \
		|| $(PYTHON) -m pip install --quiet --user pipenv 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet pipenv \
		|| { echo "error: could not install pipenv with $(PYTHON) -m pip — install it (https://pipenv.pypa.io/en/latest/installation.html), then run make again" >&2; exit 2; }
	$(PIPENV) sync --dev
	@touch $@

# The pinned CLIs (infra/tools.py) into .tools/bin when missing from PATH; `make up` does this itself.
TOOLS ?= kind kubectl helm pulumi
tools: deps ## Install the pinned CLIs (TOOLS="kind kubectl helm pulumi") into .tools/bin, sha256-checked
	$(RUN) python -m infra.tools $(TOOLS)

# Optional, as root on Debian/Ubuntu: a userspace NFS server and client, so the nfs_server role's live tests
# (tests/unit/playbooks/test_nfs_server_role.py) run for real instead of skipping with the reason.
test-deps: ## Optional (root, apt): NFS-Ganesha + libnfs client for the nfs_server role's live tests
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		nfs-ganesha nfs-ganesha-vfs libnfs-utils procps >/dev/null

up: deps ## Stand up the lab (ENV=local|aws), addons, workloads, then verify
	$(RUN) infra up --env $(ENV)

down: deps ## Destroy the lab and remove its generated files
	$(RUN) infra down --env $(ENV)

plan: deps ## Offline: render and check every environment
	$(RUN) infra plan --env all

verify: deps ## Run the live verification suite against the configured cluster
	$(RUN) infra verify --env $(ENV)

drift: deps ## Diff the manifests against the live cluster
	$(RUN) infra drift --env $(ENV)

reconcile: deps ## Apply the manifests (server-side, owned objects pruned)
	$(RUN) infra reconcile --env $(ENV)

test: deps ## The offline suite: unit tests + lint
	$(RUN) pytest
	$(MAKE) --no-print-directory lint

unit: deps ## Only the offline pytest suite
	$(RUN) pytest

# A real API server, controllers, scheduler and hollow nodes started from the binaries in KUBEBUILDER_ASSETS
# (tests/cluster/plane.py); without that variable every test of the tier skips with where to get them.
test-cluster: deps ## The control-plane tier: live paths against a throwaway API server (KUBEBUILDER_ASSETS)
	.venv/bin/pytest tests/cluster -p no:cacheprovider -m cluster

lint: deps ## ruff, yamllint, ansible syntax-check + ansible-lint, workflow schemas
	$(RUN) ruff check infra stacks tests
	$(RUN) ruff format --check infra stacks tests
	$(RUN) yamllint --strict .
	cd playbooks && for inv in local aws; do \
		../.venv/bin/ansible-playbook --syntax-check -i ../tests/unit/playbooks/fixtures/$$inv.yml site.yml; done
	cd playbooks && ../.venv/bin/ansible-lint --offline --profile production
	$(RUN) check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
