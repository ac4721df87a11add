#!/bin/bash
# Decoder training speed, evalharness beside PyTorch (+ PEFT, + bitsandbytes), one after the other on
# an idle machine: SmolLM2-135M-Instruct, batch 8 x 128, 2 threads, 3 timed steps after warm-up.
# One JSON object per line to stdout (evalharness rows have "benchmark", the peer's "peer").
# Needs a release build (swift build -c release) and the peer's packages in /work/venv or $PYTHON's
# environment (see scripts/bench_decoder_train_peer.py). Takes about 15 minutes a round.
# ROUNDS=N repeats the whole sequence N times (default 1): on a shared machine either side's speed
# drifts by 5-13 % between runs, so a ratio is better read as the median over interleaved rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf}
PYTHON=${PYTHON:-/work/venv/bin/python}
BIN=${BIN:-.build/release/evalharness}
for round in $(seq "${ROUNDS:-1}"); do
  for method in lora qlora prompt full; do
    "$BIN" bench train --model "$MODEL" --method $method --seq 128 --batch 8 --iterations 3 --threads 2 --json
    HF_HUB_OFFLINE=1 "$PYTHON" scripts/bench_decoder_train_peer.py --model "$MODEL" --method $method --steps 3 --warmup 1 2>/dev/null
  done
  "$BIN" bench train --model "$MODEL" --method qlora --quantization gguf --seq 128 --batch 8 --iterations 3 --threads 2 --json
done
