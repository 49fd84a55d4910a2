#!/bin/bash
# The learning-rate sweep behind the per-method defaults (AdapterMethod.defaultLr): the built-in base
# model with the studio's default run shape (40 steps, batch 4, context 32, cosine, warmup 4, clip 1)
# on brown-news, validation + forgetting-probe loss at the end. One JSON line per (method, lr).
# Usage: scripts/lr-sweep.sh [> sweep.jsonl]   (about a minute per run on llvmpipe)
set -euo pipefail
cd "$(dirname "$0")/.."
for spec in "full:3e-4 1e-3 3e-3" "lora:1e-3 3e-3 1e-2" "pissa:3e-4 1e-3 3e-3" "dora:1e-3 3e-3 1e-2" "milora:3e-4 1e-3 3e-3"; do
  m=${spec%%:*}
  for lr in ${spec#*:}; do
    row=$(npm run -s cli -- train --config micro --model base --dataset brown-news --method "$m" --steps 40 \
      --param lr="$lr" --param batchSize=4 --param contextLength=32 --param warmupSteps=4 --param schedule=cosine \
      --param gradClip=1 --param eval.every=40 --param eval.batches=8 --json 2>/dev/null | grep '"step":40')
    echo "{\"method\":\"$m\",\"lr\":$lr,\"row\":$row}"
  done
done
