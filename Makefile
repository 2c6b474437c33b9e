# Two commands on a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/strategisok
STAMP  := $(VENV)/.installed
QUESTION ?= Vad har exploateringskontoret för synpunkter på den internationella strategin?

.PHONY: install run index test test-fast lint eval bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

index: $(STAMP)
	$(CLI) index corpus

run: index
	$(CLI) search "$(QUESTION)" -k 3

test: $(STAMP)
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not browser"

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# Retrieval quality on ../shared/eval: the dev corpus is materialised and indexed once
# (re-runs reuse the index and its embedding cache), then every mode is measured.
eval: $(STAMP)
	$(PY) -m bench.eval

clean:
	rm -rf .strategisok .cache
