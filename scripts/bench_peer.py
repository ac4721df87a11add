#!/usr/bin/env python3
"""Time the all-MiniLM-L6-v2 encoder forward in peer runtimes (PyTorch, ONNX Runtime).

Why: evalharness runs the same encoder natively in Swift; these numbers are the
yardstick it is compared against, measured on the same machine, threads and
shapes. Optional: nothing in the Swift build or tests depends on it.

What is timed, per peer, is one batch forward: BertModel -> last_hidden_state
-> masked mean pooling, on synthetic fixed-length input (random token ids from
a fixed seed, attention_mask all ones, token_type_ids zeros, so no padding).
Warm-up iterations run first; then each timed iteration is measured on its own
and the median is reported, plus the minimum: on a shared 2-core box other
jobs inflate the median, and the best iteration is then the steadier figure.

Peers:
  pytorch-eager  transformers.BertModel under torch.inference_mode(),
                 torch.set_num_threads(threads).
  onnxruntime    the same model + pooling exported to ONNX (opset 17, cached
                 outside the repo, default /tmp/evalharness-onnx), fused with
                 onnxruntime.transformers.optimizer.optimize_model(model_type="bert",
                 num_heads=12, hidden_size=384); CPUExecutionProvider with
                 intra_op_num_threads=threads, inter_op_num_threads=1.

Usage:
  HF_HUB_OFFLINE=1 /work/venv/bin/python scripts/bench_peer.py \\
      --model models/all-MiniLM-L6-v2 --seq 64 --batch 32 --threads 2 [--iters N] \\
      [--warmup N] [--json] [--which torch,onnx]

Setup (outside the repo):
  python3 -m venv /work/venv
  /work/venv/bin/pip install 'torch==2.13.0+cpu' transformers onnxruntime onnx

Exit codes: 0 ok, 2 missing packages or model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PEERS = ("torch", "onnx")
PIP_HINT = "/work/venv/bin/pip install 'torch==2.13.0+cpu' transformers onnxruntime onnx"
OPSET = 17
SEED = 1234


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Time the encoder forward in PyTorch and ONNX Runtime (peer baselines).")
    p.add_argument("--model", type=Path, default=Path("models/all-MiniLM-L6-v2"),
                   help="local Hugging Face model folder (never downloaded)")
    p.add_argument("--seq", type=int, default=64, help="sequence length (tokens, no padding)")
    p.add_argument("--batch", type=int, default=32, help="examples per batch")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads for each peer")
    p.add_argument("--iters", type=int, default=20, help="timed iterations")
    p.add_argument("--warmup", type=int, default=5, help="untimed warm-up iterations")
    p.add_argument("--which", default="torch,onnx",
                   help="comma-separated peers to run: torch, onnx")
    p.add_argument("--json", action="store_true", help="print one JSON object per peer per line")
    p.add_argument("--onnx-cache", type=Path, default=Path("/tmp/evalharness-onnx"),
                   help="where the exported/optimised ONNX models are kept (outside the repo)")
    args = p.parse_args(argv)
    args.which = [w.strip() for w in args.which.split(",") if w.strip()]
    bad = [w for w in args.which if w not in PEERS]
    if bad or not args.which:
        p.error(f"--which takes a comma-separated subset of {','.join(PEERS)}; got {bad or 'nothing'}")
    for name in ("seq", "batch", "threads", "iters"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    return args


def require(modules: list[str]) -> None:
    """Fail with exit 2 and the pip command if a needed package is missing."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        print(f"error: missing Python package(s): {', '.join(missing)}\n"
              f"install them with:\n  {PIP_HINT}", file=sys.stderr)
        sys.exit(2)


def make_inputs(vocab_size: int, batch: int, seq: int):
    """Fixed-seed random token ids with [CLS]/[SEP] ends; mask all ones (no padding)."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    ids = rng.integers(1000, vocab_size, size=(batch, seq), dtype=np.int64)  # skip special/unused
    ids[:, 0] = 101   # [CLS]
    ids[:, -1] = 102  # [SEP]
    mask = np.ones((batch, seq), dtype=np.int64)
    types = np.zeros((batch, seq), dtype=np.int64)
    return ids, mask, types


def time_fn(fn, warmup: int, iters: int) -> list[float]:
    """Run fn warmup times untimed, then iters times; return per-iteration seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def load_encoder(model_dir: Path, attn: str | None = None):
    """BertModel without the pooler head, wrapped to return mean-pooled embeddings."""
    import torch
    from transformers import BertModel

    kwargs = {"add_pooling_layer": False}
    if attn:
        kwargs["attn_implementation"] = attn
    bert = BertModel.from_pretrained(str(model_dir), **kwargs).eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            return (h * m).sum(dim=1) / m.sum(dim=1).clamp_min(1e-9)

    return MeanPooled(bert).eval(), bert.config


def bench_torch(args) -> dict:
    """PyTorch eager forward under inference_mode with the requested thread count."""
    import torch

    model, config = load_encoder(args.model)
    ids, mask, types = make_inputs(config.vocab_size, args.batch, args.seq)
    t_ids, t_mask, t_types = (torch.from_numpy(a) for a in (ids, mask, types))

    def step():
        with torch.inference_mode():
            model(t_ids, t_mask, t_types)

    return summarise("pytorch-eager", args, time_fn(step, args.warmup, args.iters),
                     extra={"attn_implementation": config._attn_implementation})


def model_digest(model_dir: Path) -> str:
    """Short digest of the weights so a cached ONNX export is never stale."""
    h = hashlib.sha256()
    with (model_dir / "model.safetensors").open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def export_onnx(args) -> Path:
    """Export (once) and fuse the encoder+pooling graph; return the optimised model path.

    The eager attention implementation is exported because it yields the
    MatMul/Softmax pattern that ORT's BERT fusion recognises (-> Attention op).
    """
    import torch
    import onnxruntime
    from onnxruntime.transformers.optimizer import optimize_model

    key = f"{model_digest(args.model)}-opset{OPSET}-torch{torch.__version__}-ort{onnxruntime.__version__}"
    cache = args.onnx_cache / key
    raw, opt = cache / "model.onnx", cache / "model.opt.onnx"
    if opt.is_file():
        return opt
    cache.mkdir(parents=True, exist_ok=True)
    model, config = load_encoder(args.model, attn="eager")
    ids, mask, types = make_inputs(config.vocab_size, 2, 16)
    dyn = {0: "batch", 1: "seq"}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation and tracer notes
        torch.onnx.export(
            model, tuple(torch.from_numpy(a) for a in (ids, mask, types)), str(raw),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["sentence_embedding"],
            dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn,
                          "sentence_embedding": {0: "batch"}},
            opset_version=OPSET, do_constant_folding=True, dynamo=False)
    optimized = optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads,
                               hidden_size=config.hidden_size, opt_level=None)
    stats = optimized.get_fused_operator_statistics()
    optimized.save_model_to_file(str(opt))
    check_onnx_parity(model, opt, config.vocab_size)
    (cache / "fusion_stats.json").write_text(json.dumps(stats, indent=1, sort_keys=True))
    return opt


def check_onnx_parity(model, path: Path, vocab_size: int) -> None:
    """Compare the fused graph with PyTorch on a shape and padding unlike the export's.

    Tracing bakes in Python-level decisions; this catches an export that would
    silently compute something else at other batch/sequence sizes.
    """
    import numpy as np
    import onnxruntime as ort
    import torch

    ids, mask, types = make_inputs(vocab_size, 3, 24)
    mask[1, 10:] = 0
    ids[1, 10:] = 0
    with torch.inference_mode():
        want = model(*(torch.from_numpy(a) for a in (ids, mask, types))).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    got = sess.run(None, {i.name: feed[i.name] for i in sess.get_inputs()})[0]
    diff = float(np.abs(got - want).max())
    if not diff < 1e-3:
        path.unlink()
        raise RuntimeError(f"ONNX export disagrees with PyTorch (max |diff| = {diff:.3g})")


def bench_onnx(args) -> dict:
    """ONNX Runtime CPU session over the fused graph, same inputs and threads."""
    import numpy as np
    import onnxruntime as ort
    from transformers import AutoConfig

    path = export_onnx(args)
    config = AutoConfig.from_pretrained(str(args.model))
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    ids, mask, types = make_inputs(config.vocab_size, args.batch, args.seq)
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    feed = {i.name: feed[i.name] for i in sess.get_inputs()}  # optimiser may drop unused inputs

    out = sess.run(None, feed)[0]
    assert out.shape == (args.batch, config.hidden_size) and np.isfinite(out).all()

    stats_file = path.parent / "fusion_stats.json"
    fused = json.loads(stats_file.read_text()) if stats_file.is_file() else {}
    return summarise("onnxruntime", args, time_fn(lambda: sess.run(None, feed), args.warmup, args.iters),
                     extra={"fused_attention": fused.get("Attention", 0), "onnx_path": str(path)})


def summarise(peer: str, args, times: list[float], extra: dict | None = None) -> dict:
    med = statistics.median(times)
    row = {
        "peer": peer,
        "examples_per_s": round(args.batch / med, 2),
        "ms_per_batch": round(med * 1e3, 3),
        "ms_per_batch_min": round(min(times) * 1e3, 3),
        "seq": args.seq,
        "batch": args.batch,
        "threads": args.threads,
        "iters": args.iters,
    }
    row.update(extra or {})
    return row


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    needed = ["numpy", "torch", "transformers"]
    if "onnx" in args.which:
        needed += ["onnx", "onnxruntime"]
    require(needed)
    if not (args.model / "model.safetensors").is_file():
        print(f"error: no model at {args.model}; run scripts/fetch_model.sh", file=sys.stderr)
        return 2

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already fixed by an earlier parallel call; harmless

    runners = {"torch": bench_torch, "onnx": bench_onnx}
    rows = []
    for peer in args.which:
        row = runners[peer](args)
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)

    if not args.json:
        print(f"seq={args.seq} batch={args.batch} threads={args.threads} "
              f"iters={args.iters} warmup={args.warmup} (median per batch)")
        print(f"{'peer':<16}{'examples/s':>12}{'ms/batch':>12}{'min ms':>10}")
        for r in rows:
            print(f"{r['peer']:<16}{r['examples_per_s']:>12.1f}{r['ms_per_batch']:>12.2f}"
                  f"{r['ms_per_batch_min']:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
