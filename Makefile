# Two commands on a fresh machine: `make study` and `make test`. Everything installs from this folder.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
AS_OF ?= 2026-10-31
SAMPLE := data/sample
SAMPLE_ACCOUNTS ?= 1000
# The generator's newest table: a sample made by an older version is made again (deterministic per seed).
SAMPLE_MADE := $(SAMPLE)/activities.csv

.PHONY: study test lab bench calibrate mutants constraints clean

$(BIN)/workbench: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

$(SAMPLE_MADE): | $(BIN)/workbench
	$(BIN)/workbench generate --out $(SAMPLE) --accounts $(SAMPLE_ACCOUNTS) --seed 42 --as-of $(AS_OF)

## Run the study on the embedded sample: reports/$(AS_OF)/
study: $(BIN)/workbench $(SAMPLE_MADE)
	$(BIN)/workbench study --data $(SAMPLE) --as-of $(AS_OF)

## Lint and format check (ruff), then unit tests, planted-truth tests and every notebook (nbval); exit 5
## (nothing collected) is a failure too
test: $(BIN)/workbench $(SAMPLE_MADE)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-kernel-name python3

## JupyterLab on the notebooks, with the package importable
lab: $(BIN)/workbench $(SAMPLE_MADE)
	$(BIN)/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

## Benchmarks at 1k, 10k and 100k accounts: prints a table and writes benchmarks/results/*.json. The 1M-account
## world is opt-in (long: about 20 minutes): make bench BENCH_SIZES=1000,100000,1000000; add BENCH_OPTIONS=--spark
## to run the smallest study on Spark too and compare its figures with DuckDB's
BENCH_SIZES ?= 1000,10000,100000
BENCH_OPTIONS ?=
bench: $(BIN)/workbench
	$(BIN)/python -m benchmarks.run --sizes $(BENCH_SIZES) $(BENCH_OPTIONS)

## Calibration of the verdicts on null and planted worlds (long: about an hour on 2 cores)
calibrate: $(BIN)/workbench
	$(BIN)/python -m benchmarks.calibrate
	$(BIN)/python -m benchmarks.touch_effect
	$(BIN)/python -m benchmarks.automation
	$(BIN)/python -m benchmarks.forecast

## Planted bugs the tests must catch, each in a temporary copy of the project (about 10 minutes on 2 cores);
## exits non-zero if a mutant survives or its place has moved
mutants: $(BIN)/workbench $(SAMPLE_MADE)
	$(BIN)/python -m benchmarks.mutants

## Re-pin every package to its newest release (then run make test)
constraints:
	rm -rf /tmp/workbench-pin && $(PYTHON) -m venv /tmp/workbench-pin
	/tmp/workbench-pin/bin/pip install --quiet -e '.[dev]'
	(head -2 constraints.txt; /tmp/workbench-pin/bin/pip freeze --exclude-editable) > constraints.new && mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) $(SAMPLE)
