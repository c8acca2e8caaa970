# agentcore-training: `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
CACHE_DIR := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/agentcore-training
UV_VERSION := 0.13.9
UV := $(CACHE_DIR)/tools/uv-$(UV_VERSION)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
CLUSTER_STATE := .cluster
CRD_FILE := crds/trainingjobs.training.agentcore.dev.yaml
# One torch thread: on 2 cores, OpenMP oversubscription makes GRPO 18-45x slower.
export OMP_NUM_THREADS := 1

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	$(PYTHON) -m venv $(CACHE_DIR)/tools/uv-$(UV_VERSION)
	$(CACHE_DIR)/tools/uv-$(UV_VERSION)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --all-extras --python $(PYTHON) --quiet
	touch $@

.PHONY: venv
venv: $(VENV)/.synced ## Create .venv from uv.lock (wheels cached under ~/.cache/uv)

.PHONY: lock
lock: | $(UV) ## Re-resolve uv.lock after a change of dependencies in pyproject.toml
	$(UV) lock --python $(PYTHON)

.PHONY: lint
lint: venv ## ruff: lint and format check
	$(VENV)/bin/ruff check operator tests bench tools
	$(VENV)/bin/ruff format --check operator tests bench tools

.PHONY: format
format: venv ## ruff: fix what can be fixed and format
	$(VENV)/bin/ruff check --fix operator tests bench tools
	$(VENV)/bin/ruff format operator tests bench tools

.PHONY: typecheck
typecheck: venv ## mypy --strict over the package
	$(VENV)/bin/mypy

.PHONY: crds
crds: venv ## Regenerate the CRD under crds/ from the pydantic models
	$(PY) -m agentcore_training.api.crd > $(CRD_FILE)

.PHONY: check-crds
check-crds: venv ## Fail when the checked-in CRD differs from what the models generate
	@$(PY) -m agentcore_training.api.crd --check $(CRD_FILE)

.PHONY: docs
docs: venv ## Regenerate docs/reference/ (configuration and JSON-RPC) from the code
	$(PY) tools/gen_reference.py

.PHONY: controlplane
controlplane: ## Build kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kubectl, etcd, CoreDNS and Kueue once (cached by version)
	@bash tools/controlplane/build.sh >/dev/null

.PHONY: node-deps
node-deps: ## Install the Debian packages of a real node when missing (containerd, runc, CNI plugins, umoci; root)
	@bash tools/node/deps.sh

NODE ?= 0
.PHONY: cluster-up
cluster-up: controlplane ## Start a local control plane on loopback, with the CRD installed (NODE=1: and a real node)
	@CRD_DIR=crds bash tools/controlplane/up.sh $(CLUSTER_STATE)
	@if [ "$(NODE)" = 1 ]; then bash tools/node/up.sh $(CLUSTER_STATE); fi

.PHONY: cluster-down
cluster-down: ## Stop the control plane that cluster-up started (and its node)
	@bash tools/node/down.sh $(CLUSTER_STATE)
	@bash tools/controlplane/down.sh $(CLUSTER_STATE)

.PHONY: unit
unit: venv ## Unit tests only (no control plane)
	$(VENV)/bin/pytest -m "not integration"

.PHONY: test
test: lint typecheck check-crds controlplane ## The whole suite: lint, typecheck, CRD check, unit and integration tests
	$(VENV)/bin/pytest

BENCHMARKS := $(wildcard bench/operator_burst.py bench/trainer_throughput.py bench/trainer_real_model.py bench/trainer_data_parallel.py bench/rpc_reads.py)

.PHONY: bench
bench: venv controlplane ## Run every benchmark; one JSON result each under bench/results/
	@for script in $(BENCHMARKS); do \
	  echo "== $$script"; $(PY) $$script || exit 1; \
	done
	@$(PY) bench/gen_docs.py --summary

.PHONY: soak
soak: venv controlplane ## ~30 real TrainingJobs with trainer SIGKILLs, operator and apiserver restarts (bench/results/soak.json)
	$(PY) bench/soak.py

.PHONY: bench-docs
bench-docs: venv ## Publish bench/results/*.json to bench/published/ and regenerate docs/benchmarks.md
	$(PY) bench/gen_docs.py --publish

.PHONY: check-bench-docs
check-bench-docs: venv ## Fail when docs/benchmarks.md differs from what bench/published/ generates
	@$(PY) bench/gen_docs.py --check

.PHONY: demo
demo: venv controlplane ## The main job end to end on a local control plane (leaves nothing running)
	@$(PY) tools/demo.py

.PHONY: demo-real
demo-real: venv controlplane ## SmolLM2 learns addition through JSON-RPC and the operator on CPU, then plain transformers loads the output
	@$(PY) tools/demo_real.py

.PHONY: kind-up kind-deploy kind-demo
kind-up: ## [needs Docker + kind] Create a kind cluster (CERT_MANAGER=1 also installs cert-manager)
	bash tools/kind/kind-up.sh

kind-deploy: ## [needs Docker + kind] Build and load the images, deploy manifests/overlays/dev
	bash tools/kind/kind-deploy.sh

kind-demo: ## [needs Docker + kind] Run the sample TrainingJob on kind with the real kubelet
	bash tools/kind/kind-demo.sh

.PHONY: clean
clean: cluster-down ## Remove the venv and local state (the cached control plane stays)
	rm -rf $(VENV) $(CLUSTER_STATE) .demo .mypy_cache .ruff_cache .pytest_cache
