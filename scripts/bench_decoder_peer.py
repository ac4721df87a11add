#!/usr/bin/env python3
"""Time the SmolLM2-135M-Instruct decoder forward (scoring) in PyTorch fp32 eager.

Why: evalharness runs this decoder natively in Swift (from the Q4_1 GGUF); this
is the PyTorch yardstick it is compared against, measured on the same machine,
threads and shapes. Optional: nothing in the Swift build or tests depends on it.

What is timed is one forward-only scoring pass: LlamaForCausalLM(input_ids) ->
logits for EVERY position ([batch, seq, 49152] fp32, which is what scoring
continuations needs), on fixed-seed random token ids (ids 17..49151, i.e. no
control tokens), no padding, no attention mask, no KV cache, under
torch.inference_mode(). The model is loaded as the fixtures load it:
AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, dtype=torch.float32),
i.e. every GGUF tensor dequantised to fp32 (so this peer computes in fp32, not
in Q4_1), attention "sdpa" (transformers' default; --attn eager for the plain
matmul/softmax path), torch.set_num_threads(threads), interop threads 1.
Warm-up iterations run first (default 2); then timed iterations run until
--seconds have passed (default 10, at least --min-iters). Per-iteration times
are kept; the median is reported, and the minimum: on a shared 2-core box other
jobs inflate the median, and the best iteration is then the steadier figure.

Memory: peak_rss_bytes is ru_maxrss of this process (which only imports torch,
loads the model and runs), so it includes the GGUF load/dequantisation peak;
rss_after_load_bytes is VmRSS right after loading; run_peak_rss_bytes is the
high-water mark of the warm-up + timed iterations alone (VmHWM reset after load).

Usage:
  HF_HUB_OFFLINE=1 /work/venv/bin/python scripts/bench_decoder_peer.py \\
      [--model models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf] \\
      [--batch 8] [--seq 128] [--threads 2] [--seconds 10] [--warmup 2] [--attn sdpa]

Prints one JSON object (one line) with tokens_per_s (batch*seq / median
seconds_per_batch), tokens_per_s_best, seconds_per_batch, seconds_per_batch_min,
iters, peak_rss_bytes, rss_after_load_bytes, run_peak_rss_bytes, torch_version,
transformers_version, threads, batch, seq, attn_implementation, loadavg.

Setup (outside the repo):
  scripts/fetch_decoder.sh            # the GGUF into models/SmolLM2-135M-Instruct/
  /work/venv/bin/pip install torch transformers gguf accelerate

Exit codes: 0 ok, 2 missing packages or model.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # the GGUF loader's per-tensor progress bar

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO_ROOT / "models" / "SmolLM2-135M-Instruct" / "SmolLM2-135M-Instruct.Q4_1.gguf"
PIP_HINT = "/work/venv/bin/pip install torch transformers gguf accelerate"
PEER = "pytorch-eager"
SEED = 1234
FIRST_ORDINARY_ID = 17  # ids 0..16 are the GGUF's control tokens


def add_scoring_arguments(p: argparse.ArgumentParser, threads_help: str, per: str = "") -> None:
    """The arguments every scoring peer takes (this one, bench_decoder_llamacpp.py): the model, the
    shape, threads, and how long to time; `per` qualifies the timing ones (" per mode")."""
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                   help="path to SmolLM2-135M-Instruct.Q4_1.gguf (see scripts/fetch_decoder.sh)")
    p.add_argument("--batch", type=int, default=8, help="sequences per batch")
    p.add_argument("--seq", type=int, default=128, help="tokens per sequence (no padding)")
    p.add_argument("--threads", type=int, default=2, help=threads_help)
    p.add_argument("--seconds", type=float, default=10.0, help="minimum timed duration" + per)
    p.add_argument("--min-iters", type=int, default=3, help="minimum timed iterations" + per)
    p.add_argument("--warmup", type=int, default=2, help="untimed warm-up iterations" + per)


def check_scoring_arguments(p: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """Refuses (exit 2, argparse's message) a shape, thread count or timing that cannot run."""
    for name in ("batch", "seq", "threads", "min_iters"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0 or args.seconds <= 0:
        p.error("--warmup must be >= 0 and --seconds > 0")
    return args


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Time the SmolLM2-135M decoder's scoring forward in PyTorch fp32 (peer baseline).")
    add_scoring_arguments(p, threads_help="torch.set_num_threads")
    p.add_argument("--attn", choices=("sdpa", "eager"), default="sdpa",
                   help="transformers attention implementation (default sdpa)")
    return check_scoring_arguments(p, p.parse_args(argv))


def require(modules: list[str], pip_hint: str = PIP_HINT) -> None:
    """Fail with exit 2 and the pip command if a needed package is missing."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        print(f"error: missing Python package(s): {', '.join(missing)}\n"
              f"install them with:\n  {pip_hint}", file=sys.stderr)
        sys.exit(2)


def rss_status() -> dict:
    """VmRSS / VmHWM of this process in bytes (Linux /proc), empty elsewhere."""
    out = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return out


def reset_rss_peak() -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM) so the run's own peak can be read."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def make_inputs(vocab_size: int, batch: int, seq: int):
    import numpy as np

    rng = np.random.default_rng(SEED)
    return rng.integers(FIRST_ORDINARY_ID, vocab_size, size=(batch, seq), dtype=np.int64)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require(["numpy", "torch", "transformers", "gguf", "accelerate"])
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

    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(
        str(args.model.parent), gguf_file=args.model.name, dtype=torch.float32,
        attn_implementation=args.attn)
    model.eval()
    load_s = time.perf_counter() - t0
    config = model.config
    ids = torch.from_numpy(make_inputs(config.vocab_size, args.batch, args.seq))
    rss_loaded = rss_status().get("VmRSS")
    hwm_reset = reset_rss_peak()

    def step():
        with torch.inference_mode():
            out = model(input_ids=ids, use_cache=False)
        return out.logits

    for _ in range(args.warmup):
        logits = step()
    if args.warmup:
        assert tuple(logits.shape) == (args.batch, args.seq, config.vocab_size)
        assert logits.dtype == torch.float32 and bool(torch.isfinite(logits).all())
        del logits
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < args.min_iters or time.perf_counter() - start < args.seconds:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    med, best = statistics.median(times), min(times)
    tokens = args.batch * args.seq
    row = {
        "peer": PEER,
        "model": args.model.name,
        "tokens_per_s": round(tokens / med, 1),
        "tokens_per_s_best": round(tokens / best, 1),
        "seconds_per_batch": round(med, 4),
        "seconds_per_batch_min": round(best, 4),
        "iters": len(times),
        "warmup": args.warmup,
        "timed_seconds": round(sum(times), 2),
        "peak_rss_bytes": max_rss_bytes(),
        "rss_after_load_bytes": rss_loaded,
        "run_peak_rss_bytes": rss_status().get("VmHWM") if hwm_reset else None,
        "load_seconds": round(load_s, 1),
        "batch": args.batch,
        "seq": args.seq,
        "threads": args.threads,
        "dtype": "float32 (GGUF dequantised)",
        "attn_implementation": config._attn_implementation,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "loadavg_1m_start": round(load_start, 2),
        "loadavg_1m_end": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
