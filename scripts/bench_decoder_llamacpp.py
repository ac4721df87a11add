#!/usr/bin/env python3
"""Time llama.cpp scoring the SmolLM2-135M-Instruct decoder from its Q4_1 GGUF (integer-kernel peer).

Why: scripts/bench_decoder_peer.py times PyTorch fp32 (the GGUF dequantised) on the scoring shape.
This script times the same shape through llama.cpp's own quantised CPU kernels (Q4_1 weights x Q8
activations, int8 dot products: AVX2 maddubs/madd on x86), so one can see what integer kernels over
4-bit blocks buy on this machine against PyTorch fp32, e.g. whether "scoring throughput >= 2x
PyTorch fp32" is within reach of such kernels at all. Optional: nothing in the Swift build or tests
depends on it.

What is timed is scoring batch x seq fixed-seed random token ids (ids 17..49151, the same
generator, seed and ids as bench_decoder_peer.py), logits for EVERY position, each iteration ending
with all batch*seq*49152 fp32 logits copied into one preallocated numpy array (PyTorch's forward
returns them as one tensor; llama.cpp overwrites its output buffer on the next decode, so a scorer
must copy). Two shapes of the work, through llama-cpp-python's low-level API (llama_decode with a
llama_batch whose logits flag is set on every token):
  per-seq  each sequence is one decode of `seq` tokens (n_ctx = n_batch = n_ubatch = seq, which
           llama.cpp pads to 256 cells; n_seq_max 1), the KV cache cleared (llama_memory_clear)
           before each sequence;
  batched  all sequences in ONE decode of batch*seq tokens with distinct seq_ids 0..batch-1
           (n_ctx = n_batch = n_ubatch = batch*seq, n_seq_max = batch, per-sequence KV streams),
           the KV cache cleared before each iteration.
--mode both (default) runs per-seq then batched, each in its own context, and reports both; the
headline (tokens_per_s) is the faster mode by median. Context: n_threads = n_threads_batch =
--threads, f16 KV cache (llama.cpp's default), flash attention --flash-attn (default auto: llama.cpp
decides; the resolved value is read from llama.cpp's log), n_outputs_max_per_seq 0 (= n_outputs_max, so
every position may output; this build's default parameter value is 1). OMP_WAIT_POLICY=PASSIVE is set unless already in
the environment (OpenMP's spinning threads are slow on a busy 2-core box). Warm-up iterations run
first (default 2); timed iterations run until --seconds have passed (default 10, at least
--min-iters); the median and the minimum per-iteration times are reported, as the PyTorch peer
does (the minimum is the steadier figure on a shared machine).

Measured (2-core AMD EPYC Zen 1, AVX2, idle machine, 8x128, 2 threads, 3 interleaved rounds with
bench_decoder_peer.py): llama.cpp 115-117 tokens/s (8.7-8.9 s per batch; per-seq and batched
within 3 %) against PyTorch fp32 194-207 tokens/s, i.e. 0.56-0.61x. This GGUF's Q4_1 tensors
get neither llama.cpp's repacked (CPU_REPACK) nor its llamafile/tinyBLAS kernels on x86 (those
take Q4_0, Q5_0, IQ4_NL, Q8_0), only the per-row ggml_vec_dot_q4_1_q8_1; the same model
re-quantised to Q4_0 (--model, outside the repo) ran at ~152 tokens/s, still below PyTorch.

Memory: peak_rss_bytes is ru_maxrss of this process (both modes); rss_after_load_bytes is VmRSS
after the model is loaded (mmap'd GGUF pages touched so far); each mode's run_peak_rss_bytes is the
VmHWM of its context creation + warm-up + timed iterations (VmHWM reset before it).

Usage:
  /work/llamacpp-venv/bin/python scripts/bench_decoder_llamacpp.py \\
      [--model models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf] \\
      [--batch 8] [--seq 128] [--threads 2] [--seconds 10] [--warmup 2] \\
      [--mode both|per-seq|batched] [--flash-attn auto|on|off] [--verbose]

Prints one JSON object (one line) with tokens_per_s (batch*seq / median seconds_per_batch of the
faster mode), tokens_per_s_best, headline_mode, modes (per mode: tokens_per_s, tokens_per_s_best,
seconds_per_batch, seconds_per_batch_min, iters, flash_attn, run_peak_rss_bytes, n_ctx, n_batch,
n_ubatch), peak_rss_bytes, rss_after_load_bytes, system_info (llama_print_system_info: the SIMD
llama.cpp was built for), llama_cpp_python_version, threads, batch, seq, loadavg.

Setup (outside the repo):
  scripts/fetch_decoder.sh                       # the GGUF into models/SmolLM2-135M-Instruct/
  python3 -m venv /work/llamacpp-venv && /work/llamacpp-venv/bin/pip install llama-cpp-python numpy

Exit codes: 0 ok, 1 a decode failed, 2 missing packages or model.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before libgomp is loaded by llama_cpp

# The PyTorch peer's helpers (standard library only at import): the same ids (seed, first ordinary
# id), the same memory readings.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_decoder_peer import (add_scoring_arguments, check_scoring_arguments, make_inputs, max_rss_bytes,  # noqa: E402
                                require, reset_rss_peak, rss_status)

PIP_HINT = "/work/llamacpp-venv/bin/pip install llama-cpp-python numpy"
PEER = "llama.cpp"
FLASH = {"auto": -1, "off": 0, "on": 1}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Time the SmolLM2-135M decoder's scoring in llama.cpp (Q4_1 GGUF, integer kernels).")
    add_scoring_arguments(p, threads_help="n_threads and n_threads_batch", per=" per mode")
    p.add_argument("--mode", choices=("both", "per-seq", "batched"), default="both",
                   help="per-seq: one decode per sequence; batched: one decode of all sequences")
    p.add_argument("--flash-attn", choices=tuple(FLASH), default="auto",
                   help="llama.cpp flash attention (default auto: llama.cpp decides)")
    p.add_argument("--verbose", action="store_true", help="pass llama.cpp's log through to stderr")
    return check_scoring_arguments(p, p.parse_args(argv))


class LlamaLog:
    """Collect llama.cpp's log (and echo it with --verbose); the callback must outlive the library's use."""

    def __init__(self, llama_cpp, echo: bool):
        self.lines: list[str] = []
        self.echo = echo

        def cb(level, text, user_data):
            s = text.decode("utf-8", "replace") if text else ""
            self.lines.append(s)
            if self.echo:
                sys.stderr.write(s)

        self._cb = llama_cpp.llama_log_callback(cb)
        llama_cpp.llama_log_set(self._cb, ctypes.c_void_p())

    def flash_attn(self, since: int) -> str | None:
        """llama.cpp's resolved flash-attention setting from the log lines after index `since`."""
        found = None
        for s in self.lines[since:]:
            low = s.lower()
            if "flash attention" in low and ("enabled" in low or "disabled" in low):
                found = s.strip()  # e.g. "resolve_fused_ops: Flash Attention enabled"
        return found


def run_mode(llama_cpp, np, model, ids, args, mode: str, log: LlamaLog) -> dict:
    """Create a context for `mode`, warm up, time; return the mode's row (raises on a decode failure)."""
    batch, seq = ids.shape
    n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
    per_decode = seq if mode == "per-seq" else batch * seq
    seqs_per_decode = 1 if mode == "per-seq" else batch

    cp = llama_cpp.llama_context_default_params()
    cp.n_ctx = per_decode
    cp.n_batch = per_decode
    cp.n_ubatch = per_decode
    cp.n_seq_max = seqs_per_decode
    cp.n_outputs_max = 0            # = n_batch
    cp.n_outputs_max_per_seq = 0    # = n_outputs_max: logits for every position
    cp.n_threads = args.threads
    cp.n_threads_batch = args.threads
    cp.flash_attn_type = FLASH[args.flash_attn]
    cp.no_perf = True
    hwm_reset = reset_rss_peak()
    log_mark = len(log.lines)
    ctx = llama_cpp.llama_init_from_model(model, cp)
    if not ctx:
        raise RuntimeError(f"{mode}: llama_init_from_model failed")
    flash = log.flash_attn(log_mark)
    mem = llama_cpp.llama_get_memory(ctx)
    lb = llama_cpp.llama_batch_init(per_decode, 0, 1)
    out = np.empty((batch, seq, n_vocab), dtype=np.float32)
    flat_out = out.reshape(batch // seqs_per_decode, per_decode * n_vocab)
    tok = np.ctypeslib.as_array(lb.token, shape=(per_decode,))
    pos = np.ctypeslib.as_array(lb.pos, shape=(per_decode,))
    nseq = np.ctypeslib.as_array(lb.n_seq_id, shape=(per_decode,))
    flag = np.ctypeslib.as_array(lb.logits, shape=(per_decode,))
    nseq[:] = 1
    flag[:] = 1
    lb.n_tokens = per_decode
    groups = ids.reshape(batch // seqs_per_decode, per_decode).astype(np.int32)
    positions = np.tile(np.arange(seq, dtype=np.int32), seqs_per_decode)
    seq_ids = np.repeat(np.arange(seqs_per_decode, dtype=np.int32), seq)
    pos[:] = positions
    for i in range(per_decode):
        lb.seq_id[i][0] = int(seq_ids[i])

    def step():
        for g in range(groups.shape[0]):
            llama_cpp.llama_memory_clear(mem, True)
            tok[:] = groups[g]
            rc = llama_cpp.llama_decode(ctx, lb)
            if rc != 0:
                raise RuntimeError(f"{mode}: llama_decode returned {rc}")
            src = np.ctypeslib.as_array(llama_cpp.llama_get_logits(ctx), shape=(per_decode * n_vocab,))
            flat_out[g] = src

    try:
        for _ in range(args.warmup):
            step()
        if args.warmup:
            assert bool(np.isfinite(out).all()), f"{mode}: non-finite logits"
            # every position must have its own logits (not one row repeated)
            assert not np.array_equal(out[0, 0], out[0, seq - 1]), f"{mode}: positions share logits"
        times: list[float] = []
        start = time.perf_counter()
        while len(times) < args.min_iters or time.perf_counter() - start < args.seconds:
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
        checksum = float(out[:, :, :16].astype(np.float64).sum())
    finally:
        llama_cpp.llama_batch_free(lb)
        llama_cpp.llama_free(ctx)
    med, best = statistics.median(times), min(times)
    tokens = batch * seq
    return {
        "tokens_per_s": round(tokens / med, 1),
        "tokens_per_s_best": round(tokens / best, 1),
        "seconds_per_batch": round(med, 4),
        "seconds_per_batch_min": round(best, 4),
        "iters": len(times),
        "timed_seconds": round(sum(times), 2),
        "decodes_per_batch": int(groups.shape[0]),
        "n_ctx": per_decode, "n_batch": per_decode, "n_ubatch": per_decode,
        "n_seq_max": seqs_per_decode,
        "flash_attn": flash or args.flash_attn,
        "run_peak_rss_bytes": rss_status().get("VmHWM") if hwm_reset else None,
        "logits_checksum": round(checksum, 3),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require(["numpy", "llama_cpp"], PIP_HINT)
    if not args.model.is_file():
        print(f"error: no model at {args.model}; run scripts/fetch_decoder.sh", file=sys.stderr)
        return 2

    import numpy as np
    import llama_cpp

    log = LlamaLog(llama_cpp, args.verbose)
    llama_cpp.llama_backend_init()
    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    mp = llama_cpp.llama_model_default_params()
    model = llama_cpp.llama_model_load_from_file(str(args.model).encode(), mp)
    if not model:
        print(f"error: llama.cpp could not load {args.model}", file=sys.stderr)
        return 2
    load_s = time.perf_counter() - t0
    rss_loaded = rss_status().get("VmRSS")
    n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
    ids = make_inputs(n_vocab, args.batch, args.seq)
    modes = ("per-seq", "batched") if args.mode == "both" else (args.mode,)
    rows: dict[str, dict] = {}
    try:
        for m in modes:
            rows[m] = run_mode(llama_cpp, np, model, ids, args, m, log)
    except (RuntimeError, AssertionError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        llama_cpp.llama_model_free(model)
    head = max(rows, key=lambda m: rows[m]["tokens_per_s"])
    row = {
        "peer": PEER,
        "model": args.model.name,
        "tokens_per_s": rows[head]["tokens_per_s"],
        "tokens_per_s_best": max(r["tokens_per_s_best"] for r in rows.values()),
        "headline_mode": head,
        "seconds_per_batch": rows[head]["seconds_per_batch"],
        "seconds_per_batch_min": rows[head]["seconds_per_batch_min"],
        "modes": rows,
        "warmup": args.warmup,
        "peak_rss_bytes": max_rss_bytes(),
        "rss_after_load_bytes": rss_loaded,
        "load_seconds": round(load_s, 2),
        "batch": args.batch,
        "seq": args.seq,
        "threads": args.threads,
        "dtype": "GGUF as stored (Q4_1 weights, Q8_0 embedding; f16 KV cache)",
        "system_info": llama_cpp.llama_print_system_info().decode().strip(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "llama_cpp_python_version": llama_cpp.__version__,
        "loadavg_1m_start": round(load_start, 2),
        "loadavg_1m_end": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
