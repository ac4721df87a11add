#!/usr/bin/env python3
"""Time SmolLM2-135M-Instruct decoder TRAINING steps in PyTorch fp32 eager (+ PEFT LoRA).

Why: evalharness trains this decoder natively in Swift (full fine-tuning and
LoRA); this is the PyTorch + PEFT yardstick it is compared against, measured on
the same machine, threads and shapes. Optional: nothing in the Swift build or
tests depends on it. Companion of scripts/bench_decoder_peer.py (scoring).

What is timed is one optimizer step: zero_grad; loss = model(input_ids,
labels=labels).loss; loss.backward(); clip_grad_norm_(trainable, 1.0);
optimizer.step(). Inputs are fixed-seed random token ids in [17, vocab) (past the control tokens, as evalharness draws them), shape
[batch, seq] (default 8 x 128), no padding, no attention mask, no KV cache;
labels are the ids with the first seq - targets positions (default 96) set to
-100, i.e. completion-only loss on the last --targets (default 32) tokens of
each row. The model is loaded as the fixtures load it:
AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, dtype=torch.float32,
attn_implementation="eager"), i.e. every GGUF tensor dequantised to fp32, then
model.train() (SmolLM2 has no dropout; LoRA dropout is 0).

Methods:
  full    every parameter trainable, AdamW lr 1e-5
  lora    PEFT LoraConfig(r=8, lora_alpha=16, lora_dropout=0,
          target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"), AdamW lr 1e-4
  qlora   the same LoRA over a bitsandbytes NF4 base: every linear of every decoder layer a
          Linear4bit (nf4, blocksize 64, no double quantisation, compute float32, quantised by
          bitsandbytes from the fp32 weights: `quantize_nf4` of check_decoder_peft_roundtrip.py,
          since transformers refuses quantization_config with a GGUF file); AdamW lr 1e-4
  prompt  PEFT PromptTuningConfig(num_virtual_tokens=20, task_type="CAUSAL_LM") (RANDOM init),
          AdamW lr 3e-2; the 20 virtual tokens come before each row (not counted in tokens/s,
          as evalharness's bench counts them neither)
All: torch.optim.AdamW(trainable, lr, weight_decay=0.01, foreach=False).

--warmup (default 1) untimed steps, then --steps (default 3) timed steps.
tokens_per_s = batch * seq * steps / total timed seconds (every input token
goes through forward and backward, not only the 32 target tokens);
seconds_per_step is the mean, seconds_per_step_min the best step.

Memory: peak_rss_bytes / peak_rss_mb is ru_maxrss of this process (includes the
GGUF load/dequantisation peak); rss_after_load_bytes is VmRSS right after
loading (and wrapping with PEFT); run_peak_rss_bytes is the high-water mark of
the warm-up + timed steps alone (VmHWM reset after load) -- it includes
gradients and AdamW state, which are allocated on the first step.

Usage:
  HF_HUB_OFFLINE=1 /work/venv/bin/python scripts/bench_decoder_train_peer.py \\
      --method {full,lora} [--steps 3] [--warmup 1] [--batch 8] [--seq 128] \\
      [--targets 32] [--threads 2] \\
      [--model models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf]

Prints one JSON object (one line).

Setup (outside the repo):
  scripts/fetch_decoder.sh            # the GGUF into models/SmolLM2-135M-Instruct/
  /work/venv/bin/pip install torch transformers gguf accelerate peft

Exit codes: 0 ok, 2 missing packages or model.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # the GGUF loader's per-tensor progress bar

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO_ROOT / "models" / "SmolLM2-135M-Instruct" / "SmolLM2-135M-Instruct.Q4_1.gguf"
PIP_HINT = "/work/venv/bin/pip install torch transformers gguf accelerate peft"
PEER = "pytorch-eager"
SEED = 1234
# Helpers and the first ordinary id shared with the scoring peer (ids 0..16 are control tokens;
# evalharness's bench draws from the same range).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_decoder_peer import FIRST_ORDINARY_ID, max_rss_bytes, reset_rss_peak, rss_status  # noqa: E402
LR = {"full": 1e-5, "lora": 1e-4, "qlora": 1e-4, "prompt": 3e-2}
VIRTUAL_TOKENS = 20
WEIGHT_DECAY = 0.01
CLIP_NORM = 1.0
LORA = dict(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj"])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Time SmolLM2-135M decoder training steps in PyTorch fp32 (+PEFT LoRA) (peer baseline).")
    p.add_argument("--method", choices=("full", "lora", "qlora", "prompt"), required=True,
                   help="full fine-tuning, PEFT LoRA (r=8, alpha=16, q_proj,v_proj), the same over an NF4 base, "
                        "or PEFT prompt tuning (20 virtual tokens)")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                   help="path to SmolLM2-135M-Instruct.Q4_1.gguf (see scripts/fetch_decoder.sh)")
    p.add_argument("--batch", type=int, default=8, help="sequences per batch")
    p.add_argument("--seq", type=int, default=128, help="tokens per sequence (no padding)")
    p.add_argument("--targets", type=int, default=32,
                   help="loss on the last N tokens of each row (earlier labels are -100)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--steps", type=int, default=3, help="timed optimizer steps")
    p.add_argument("--warmup", type=int, default=1, help="untimed warm-up steps")
    args = p.parse_args(argv)
    for name in ("batch", "seq", "threads", "steps", "targets"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    if args.targets > args.seq:
        p.error("--targets must be <= --seq")
    return args


def require(modules: list[str]) -> None:
    """Fail with exit 2 and the pip command if a needed package is missing."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        print(f"error: missing Python package(s): {', '.join(missing)}\n"
              f"install them with:\n  {PIP_HINT}", file=sys.stderr)
        sys.exit(2)


def mb(n: int | None) -> float | None:
    return None if n is None else round(n / (1024 * 1024), 1)


def make_inputs(vocab_size: int, batch: int, seq: int):
    import numpy as np

    rng = np.random.default_rng(SEED)
    return rng.integers(FIRST_ORDINARY_ID, vocab_size, size=(batch, seq), dtype=np.int64)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mods = ["numpy", "torch", "transformers", "gguf", "accelerate"]
    if args.method != "full":
        mods.append("peft")
    if args.method == "qlora":
        mods.append("bitsandbytes")
    require(mods)
    if not args.model.is_file():
        print(f"error: no model at {args.model}; run scripts/fetch_decoder.sh", file=sys.stderr)
        return 2

    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(SEED)  # LoRA A init

    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(
        str(args.model.parent), gguf_file=args.model.name, dtype=torch.float32,
        attn_implementation="eager")
    config = model.config
    peft_version = None
    if args.method != "full":
        import peft
        from peft import LoraConfig, PromptTuningConfig, get_peft_model

        peft_version = peft.__version__
        if args.method == "qlora":
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from check_decoder_peft_roundtrip import quantize_nf4

            quantize_nf4(model, double=False)
        if args.method == "prompt":
            model = get_peft_model(model, PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=VIRTUAL_TOKENS))
        else:
            model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **LORA))
    model.train()
    load_s = time.perf_counter() - t0

    params = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in params)
    n_total = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(params, lr=LR[args.method], weight_decay=WEIGHT_DECAY, foreach=False)

    ids = torch.from_numpy(make_inputs(config.vocab_size, args.batch, args.seq))
    labels = ids.clone()
    labels[:, : args.seq - args.targets] = -100
    rss_loaded = rss_status().get("VmRSS")
    hwm_reset = reset_rss_peak()

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = model(input_ids=ids, labels=labels, use_cache=False).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)
        opt.step()
        return float(loss.detach())

    losses: list[float] = []
    for _ in range(args.warmup):
        losses.append(step())
    times: list[float] = []
    for _ in range(args.steps):
        t = time.perf_counter()
        losses.append(step())
        times.append(time.perf_counter() - t)
    assert all(math.isfinite(x) for x in losses), losses
    total = sum(times)
    tokens = args.batch * args.seq
    peak = max_rss_bytes()
    run_peak = rss_status().get("VmHWM") if hwm_reset else None
    row = {
        "peer": PEER + {"full": "", "lora": "+peft", "qlora": "+peft+bitsandbytes", "prompt": "+peft"}[args.method],
        "method": args.method,
        "model": args.model.name,
        "tokens_per_s": round(tokens * args.steps / total, 1),
        "tokens_per_s_best": round(tokens / min(times), 1),
        "seconds_per_step": round(total / args.steps, 4),
        "seconds_per_step_min": round(min(times), 4),
        "steps": args.steps,
        "warmup": args.warmup,
        "timed_seconds": round(total, 2),
        "loss_first": round(losses[0], 4),
        "loss_last": round(losses[-1], 4),
        "trainable_params": n_trainable,
        "total_params": n_total,
        "lr": LR[args.method],
        "weight_decay": WEIGHT_DECAY,
        "clip_grad_norm": CLIP_NORM,
        "lora": {"r": LORA["r"], "alpha": LORA["lora_alpha"], "dropout": LORA["lora_dropout"],
                 "target_modules": LORA["target_modules"]} if args.method in ("lora", "qlora") else None,
        "virtual_tokens": VIRTUAL_TOKENS if args.method == "prompt" else None,
        "peak_rss_bytes": peak,
        "peak_rss_mb": mb(peak),
        "rss_after_load_bytes": rss_loaded,
        "run_peak_rss_bytes": run_peak,
        "run_peak_rss_mb": mb(run_peak),
        "load_seconds": round(load_s, 1),
        "batch": args.batch,
        "seq": args.seq,
        "targets": args.targets,
        "threads": args.threads,
        "dtype": "float32 (GGUF dequantised)",
        "attn_implementation": config._attn_implementation,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "peft_version": peft_version,
        "loadavg_1m_start": round(load_start, 2),
        "loadavg_1m_end": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
