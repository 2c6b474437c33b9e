# Two commands on a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/strategisok
STAMP  := $(VENV)/.installed
BENCH_SIZES ?= 1000
BENCH_ARGS  ?=

.PHONY: install run index test test-fast lint eval bench clean browser-deps

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

index: $(STAMP)
	$(CLI) index corpus

# Opens the chat at http://127.0.0.1:7860 (Ctrl-C stops it).
run: index
	$(CLI) serve

# The browser tests drive Debian's Chromium; installed here when missing (as root), else
# those tests skip and say why.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installerar chromium för webbläsartesterna …"; \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium kunde inte installeras: webbläsartesterna hoppas över"; }

test: $(STAMP) browser-deps
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not browser"

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# Retrieval quality on ../shared/eval: the dev corpus is materialised and indexed once
# (re-runs reuse the index and its embedding cache), then every mode is measured.
eval: $(STAMP)
	$(PY) -m bench.eval

# Speed and memory against the naive baseline (bench/naive.py) on the first N documents of
# ../shared/data/regeringen.jsonl.gz: `make bench BENCH_SIZES=1000,10000,full`, and
# BENCH_ARGS="--model models/NAME" for another model. Corpora and embedding caches are kept in
# .cache/bench, so a second run (or an interrupted one) embeds nothing it has embedded before.
bench: $(STAMP)
	$(PY) -m bench.bench --sizes $(BENCH_SIZES) $(BENCH_ARGS)

clean:
	rm -rf .strategisok .cache
