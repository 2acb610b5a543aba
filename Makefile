.PHONY: setup demo test bench airflow-ui
export PATH := $(HOME)/.local/bin:$(PATH)

setup:
	@bash scripts/bootstrap.sh

## The main job on embedded defaults (SQLite/DuckDB/files; no server needed).
demo: setup
	@uv run --frozen masterdata demo

## Lint, types, then the test suite against the real PostgreSQL and MariaDB on this machine.
## All three always run (a type error does not hide a failing test); the target fails if any failed.
test: setup
	@bash scripts/start-services.sh
	@bash scripts/install-browser.sh
	@status=0; \
	  uv run --frozen ruff check . || status=1; \
	  uv run --frozen mypy || status=1; \
	  uv run --frozen pytest || status=1; \
	  exit $$status

## The Airflow UI for stewards, on the demo's metadata and lake (http://localhost:8080).
airflow-ui: setup
	@AIRFLOW_HOME=$(CURDIR)/var/airflow AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	  AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__CORE__DEFAULT_TIMEZONE=Asia/Shanghai MASTERDATA_HOME=$(CURDIR)/var \
	  AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS=pipelines.airflow_logging.LOGGING_CONFIG \
	  uv run --frozen airflow standalone

bench: setup
	@uv run --frozen python -m benchmarks.run_all
