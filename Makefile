# Run `make help` for the targets.
.DEFAULT_GOAL := help
.PHONY: help setup dev test test-unit check fmt bench

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## Install everything that is missing (Debian packages, uv, Python deps, LiveKit, PostgREST)
	@bash scripts/setup.sh

dev: setup ## Run the whole product locally (LiveKit, Supabase stack, token server, agent worker)
	uv run --frozen python -m devstack

test: setup ## Run every test tier (unit, integration, e2e) against the real local stack
	uv run --frozen pytest

test-unit: ## Run only the unit tests (no servers)
	uv run --frozen pytest -m unit

check: ## Lint, format check and type check
	uv run --frozen ruff format --check .
	uv run --frozen ruff check .
	uv run --frozen mypy

fmt: ## Format the code and apply safe lint fixes
	uv run --frozen ruff format .
	uv run --frozen ruff check --fix .

bench: setup ## Run the benchmarks under bench/ and print their figures
	@for b in bench/bench_*.py; do echo "== $$b"; uv run --frozen python $$b || exit 1; done
