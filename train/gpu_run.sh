#!/usr/bin/env bash
# The one GPU run of issue 5: fine-tunes all-MiniLM-L6-v2 on the Swedish pairs within a time
# budget and writes the float16 model to $OUT as a tar split into parts under 16 MiB (the
# device tool brings back at most 8 files of 16 MiB). Needs the ignored folder .gpu/ carried:
# .gpu/minilm (float16 copy of the bundled model), .gpu/pairs.jsonl.gz and .gpu/tokenizer.json
# (the Swedish WordPiece tokenizer, for the static model trained alongside); `make gpu-inputs`
# (train/Makefile.fragment) prepares it. Smoke test on a CPU:
#   OUT=/tmp/gpu-smoke BUDGET=30 LIMIT=64 BATCH=8 VAL_LIMIT=64 WORKERS=1 DEVICE=cpu \
#     PY=.venv/bin/python bash train/gpu_run.sh
set -euo pipefail
OUT=${OUT:-.cache/train/gpu_out}
BUDGET=${BUDGET:-330}
LIMIT=${LIMIT:-0}
BATCH=${BATCH:-256}
WORKERS=${WORKERS:-6}
VAL_LIMIT=${VAL_LIMIT:-2000}
DEVICE=${DEVICE:-cuda}
PY=${PY:-python3}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$OUT"
WORK=$(mktemp -d)
# A static model trains alongside on the same GPU (it needs little of it), in the background.
STATIC_DIM=${STATIC_DIM:-512}
STATIC_BATCH=${STATIC_BATCH:-4096}
$PY -m train.train_embedder --arch static --tokenizer .gpu/tokenizer.json \
  --pairs .gpu/pairs.jsonl.gz --output "$WORK/static-sv" --device "$DEVICE" \
  --dim "$STATIC_DIM" --batch-size "$STATIC_BATCH" --lr 0.2 --epochs 12 \
  --time-budget "$BUDGET" --eval-every 25 --patience 4 --val-limit "$VAL_LIMIT" \
  --workers 4 --log-every 25 --limit "$LIMIT" >"$WORK/static.log" 2>&1 &
STATIC_PID=$!
{
  nvidia-smi -L || true
  $PY -c "import torch, sentence_transformers as st, transformers as t; \
print('torch', torch.__version__, 'st', st.__version__, 'transformers', t.__version__, \
'cuda', torch.cuda.is_available())"
  $PY -m train.train_embedder --arch transformer --base .gpu/minilm \
    --pairs .gpu/pairs.jsonl.gz --output "$WORK/minilm-sv" --device "$DEVICE" \
    --batch-size "$BATCH" --lr 8e-5 --warmup 0.05 --epochs 2 --max-seq-length 256 \
    --time-budget "$BUDGET" --eval-every 200 --patience 3 --val-limit "$VAL_LIMIT" \
    --eval-batch-size 256 --workers "$WORKERS" --log-every 50 --limit "$LIMIT"
} 2>&1 | grep --line-buffered -v "Warning\|warnings.warn" | tee "$OUT/minilm.log"
wait "$STATIC_PID" || echo "static training failed: $?" | tee -a "$OUT/minilm.log"
grep -v "Warning\|warnings.warn" "$WORK/static.log" >"$WORK/static-sv.log" || true
tail -5 "$WORK/static-sv.log"
cp "$WORK/minilm-sv/training_report.json" "$OUT/minilm_report.json"
tar -C "$WORK" -cf - static-sv static-sv.log | split -b 15M - "$OUT/static-sv.tar.part-"
rm -f "$WORK/minilm-sv/README.md"
tar -C "$WORK" -cf - minilm-sv | split -b 15M - "$OUT/minilm-sv.tar.part-"
ls -la "$OUT"
