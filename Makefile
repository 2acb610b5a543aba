.PHONY: setup demo test bench
export PATH := $(HOME)/.local/bin:$(PATH)

setup:
	@bash scripts/bootstrap.sh

## The main job on embedded defaults (SQLite/DuckDB/files; no server needed).
demo: setup
	@uv run --frozen masterdata demo

## The test suite, against the real PostgreSQL and MariaDB on this machine.
test: setup
	@bash scripts/start-services.sh
	@uv run --frozen pytest

bench: setup
	@uv run --frozen python -m benchmarks.run_all
