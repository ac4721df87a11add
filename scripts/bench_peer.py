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

Training mode (--train METHOD): times one optimiser step of
AutoModelForSequenceClassification(num_labels=2) (BertForSequenceClassification)
in model.train() (dropout on), i.e. zero_grad + forward + loss.backward() +
AdamW(lr 1e-4, over the trainable parameters).step(), on the same synthetic
input plus fixed-seed random labels. Default 3 warm-up + 10 timed steps;
reports examples/s at the median step and at the best step, and the peak RSS
of the process (ru_maxrss, which includes loading the model). Methods:
  full        every parameter trainable, no PEFT.
  lora        PEFT LoraConfig(task_type=SEQ_CLS, r=8, lora_alpha=16,
              lora_dropout=0.05, PEFT's BERT default targets query,value).
  lora-all    the same with target_modules="all-linear".
  prompt      PromptTuningConfig(num_virtual_tokens=20, init RANDOM): every
              sequence grows by 20 positions inside the model.
  qlora       lora over a 4-bit base: BitsAndBytesConfig(load_in_4bit, nf4,
              double quant, compute fp32; classifier kept out of quantisation),
              prepare_model_for_kbit_training(use_gradient_checkpointing=False).
              Skipped, with the reason, if bitsandbytes cannot run 4-bit on CPU.
  qlora-bf16  the same with bnb_4bit_compute_dtype=bfloat16.
  all         every method above, each in a fresh subprocess (so peak RSS
              does not mix), then one table.
With SEQ_CLS PEFT also trains the classifier head (modules_to_save).

Usage:
  HF_HUB_OFFLINE=1 /work/venv/bin/python scripts/bench_peer.py \\
      --model models/all-MiniLM-L6-v2 --seq 64 --batch 32 --threads 2 [--iters N] \\
      [--warmup N] [--json] [--which torch,onnx]
  /work/venv/bin/python scripts/bench_peer.py --model models/all-MiniLM-L6-v2 \\
      --train {full,lora,lora-all,prompt,qlora,qlora-bf16,all} --seq 64 --batch 32 \\
      --threads 2 [--iters N] [--warmup N] [--lora-dropout P] [--json]

Setup (outside the repo):
  python3 -m venv /work/venv
  /work/venv/bin/pip install 'torch==2.13.0+cpu' transformers onnxruntime onnx
  /work/venv/bin/pip install peft bitsandbytes   # --train only (bitsandbytes: qlora)

JSON (--json): one object per line. Training rows carry peer "pytorch-peft",
method, examples_per_s (median step), examples_per_s_best, ms_per_step,
peak_rss_bytes, seq, batch, threads and more; a skipped qlora row carries
"skipped": "<reason>" with examples_per_s and peak_rss_bytes null, and a
method whose subprocess failed under --train all carries "error".

Exit codes: 0 ok, 1 a training method failed, 2 missing packages or model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
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
TRAIN_METHODS = ("full", "lora", "lora-all", "prompt", "qlora", "qlora-bf16")
TRAIN_PEER = "pytorch-peft"
TRAIN_LR = 1e-4
PROMPT_TOKENS = 20


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Time the encoder forward in PyTorch and ONNX Runtime, or training steps "
                    "in PyTorch + PEFT (--train) (peer baselines).")
    p.add_argument("--model", type=Path, default=Path("models/all-MiniLM-L6-v2"),
                   help="local Hugging Face model folder (never downloaded)")
    p.add_argument("--seq", type=int, default=64, help="sequence length (tokens, no padding)")
    p.add_argument("--batch", type=int, default=32, help="examples per batch")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads for each peer")
    p.add_argument("--iters", type=int, default=None,
                   help="timed iterations (default 20; 10 with --train)")
    p.add_argument("--warmup", type=int, default=None,
                   help="untimed warm-up iterations (default 5; 3 with --train)")
    p.add_argument("--train", choices=TRAIN_METHODS + ("all",), default=None,
                   help="time training steps of this method instead of inference "
                        "(all: every method, each in its own subprocess)")
    p.add_argument("--lora-dropout", type=float, default=0.05,
                   help="lora_dropout for lora, lora-all, qlora* (default 0.05)")
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
    if args.iters is None:
        args.iters = 10 if args.train else 20
    if args.warmup is None:
        args.warmup = 3 if args.train else 5
    if not 0.0 <= args.lora_dropout < 1.0:
        p.error("--lora-dropout must be in [0, 1)")
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


# ---------------------------------------------------------------- training mode

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
    """Reset the kernel's RSS high-water mark (VmHWM) so training's own peak can be read."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def bnb_cpu_problem(compute_dtype) -> str | None:
    """None if bitsandbytes can quantise to NF4 and run fwd+bwd of a Linear4bit on CPU here."""
    try:
        import bitsandbytes as bnb
        import torch
    except Exception as e:  # not installed, half-installed, broken native lib ...
        return f"{type(e).__name__}: {e}".strip()
    try:
        torch.manual_seed(0)
        lin = bnb.nn.Linear4bit(64, 32, bias=True, compute_dtype=compute_dtype,
                                compress_statistics=True, quant_type="nf4")
        lin = lin.to("cpu")  # quantises the weight
        x = torch.randn(4, 64, requires_grad=True)
        y = lin(x)
        y.float().sum().backward()
        if not (torch.isfinite(y.float()).all() and x.grad is not None
                and torch.isfinite(x.grad).all()):
            return "Linear4bit on CPU produced non-finite output or no gradient"
    except Exception as e:
        return f"bitsandbytes {getattr(bnb, '__version__', '?')}: {type(e).__name__}: {e}".strip()
    return None


def train_setup(method: str, args):
    """Build (model, description dict) for one method; may raise SkipMethod."""
    import torch
    from transformers import AutoModelForSequenceClassification

    model_dir = str(args.model)
    desc: dict = {}
    lora_kwargs = dict(r=8, lora_alpha=16, lora_dropout=args.lora_dropout)

    if method in ("qlora", "qlora-bf16"):
        compute_dtype = torch.bfloat16 if method == "qlora-bf16" else torch.float32
        problem = bnb_cpu_problem(compute_dtype)
        if problem:
            raise SkipMethod(f"bitsandbytes unavailable on CPU: {problem}")
        import bitsandbytes
        from transformers import BitsAndBytesConfig
        from peft import LoraConfig, TaskType, get_peft_model, prepare_model_for_kbit_training

        quant = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute_dtype,
            bnb_4bit_use_double_quant=True,
            # The new 384x2 head must stay a plain Linear: PEFT copies it into
            # modules_to_save, and a 4-bit copy of it fails in forward.
            llm_int8_skip_modules=["classifier"])
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, num_labels=2, quantization_config=quant, device_map="cpu")
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        cfg = LoraConfig(task_type=TaskType.SEQ_CLS, **lora_kwargs)
        model = get_peft_model(model, cfg)
        n4 = sum(1 for m in model.modules() if isinstance(m, bitsandbytes.nn.Linear4bit))
        desc = {"config": f"nf4 double-quant, compute {str(compute_dtype).replace('torch.', '')}, "
                          f"{n4} Linear4bit (classifier fp32), no grad checkpointing; "
                          f"lora r=8 alpha=16 dropout={args.lora_dropout} "
                          f"targets={','.join(sorted(cfg.target_modules))}",
                "bitsandbytes": bitsandbytes.__version__}
        return model, desc

    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)
    if method == "full":
        desc = {"config": "all parameters trainable (no PEFT)"}
        return model, desc

    from peft import LoraConfig, PromptTuningConfig, PromptTuningInit, TaskType, get_peft_model
    if method == "lora":
        cfg = LoraConfig(task_type=TaskType.SEQ_CLS, **lora_kwargs)
    elif method == "lora-all":
        cfg = LoraConfig(task_type=TaskType.SEQ_CLS, target_modules="all-linear", **lora_kwargs)
    elif method == "prompt":
        cfg = PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=PROMPT_TOKENS,
                                 prompt_tuning_init=PromptTuningInit.RANDOM)
    else:
        raise ValueError(method)
    model = get_peft_model(model, cfg)
    if method == "prompt":
        desc = {"config": f"{PROMPT_TOKENS} virtual tokens, RANDOM init "
                          f"(model sees seq {args.seq}+{PROMPT_TOKENS})",
                "effective_seq": args.seq + PROMPT_TOKENS}
    else:
        targets = cfg.target_modules
        if method == "lora-all":  # resolved by PEFT at injection time
            targets = model.peft_config["default"].target_modules
        targets = targets if isinstance(targets, str) else ",".join(sorted(targets))
        desc = {"config": f"r=8 alpha=16 dropout={args.lora_dropout} targets={targets}"}
    return model, desc


class SkipMethod(Exception):
    pass


def bench_train(method: str, args) -> dict:
    """One training method in this process: returns the JSON row (or a skipped row)."""
    import numpy as np
    import torch
    import transformers

    load_start = os.getloadavg()[0]
    base = {"peer": TRAIN_PEER, "method": method, "seq": args.seq, "batch": args.batch,
            "threads": args.threads, "iters": args.iters, "warmup": args.warmup}
    torch.manual_seed(SEED)  # classifier / adapter / prompt init, dropout masks
    try:
        model, desc = train_setup(method, args)
    except SkipMethod as e:
        return {**base, "examples_per_s": None, "peak_rss_bytes": None, "skipped": str(e)}

    model.train()
    config = model.config
    ids, mask, _ = make_inputs(config.vocab_size, args.batch, args.seq)
    labels = np.random.default_rng(SEED + 1).integers(0, 2, size=(args.batch,), dtype=np.int64)
    t_ids, t_mask, t_labels = (torch.from_numpy(a) for a in (ids, mask, labels))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=TRAIN_LR)
    if hasattr(model, "get_nb_trainable_parameters"):  # PEFT; counts 4-bit weights unpacked
        trainable, total = model.get_nb_trainable_parameters()
    else:
        trainable, total = sum(p.numel() for p in params), sum(p.numel() for p in model.parameters())

    rss_loaded = rss_status().get("VmRSS")
    setup_peak = max_rss_bytes()
    hwm_reset = reset_rss_peak()
    losses: list[float] = []

    def step():
        opt.zero_grad(set_to_none=True)
        out = model(input_ids=t_ids, attention_mask=t_mask, labels=t_labels)
        out.loss.backward()
        opt.step()
        losses.append(float(out.loss.detach()))

    times = time_fn(step, args.warmup, args.iters)
    if not all(np.isfinite(losses)):
        raise RuntimeError(f"{method}: non-finite loss {losses}")
    train_hwm = rss_status().get("VmHWM") if hwm_reset else None
    med, best = statistics.median(times), min(times)
    row = {
        **base,
        "examples_per_s": round(args.batch / med, 2),
        "examples_per_s_best": round(args.batch / best, 2),
        "ms_per_step": round(med * 1e3, 2),
        "ms_per_step_min": round(best * 1e3, 2),
        "peak_rss_bytes": max(setup_peak, max_rss_bytes()),
        "rss_after_load_bytes": rss_loaded,
        "train_peak_rss_bytes": train_hwm,  # VmHWM reset after setup: the steps' own peak
        "trainable_params": int(trainable),
        "total_params": int(total),
        "loss_first": round(losses[0], 4),
        "loss_last": round(losses[-1], 4),
        "lr": TRAIN_LR,
        "attn_implementation": getattr(config, "_attn_implementation", None),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "loadavg_1m_start": round(load_start, 2),
        "loadavg_1m_end": round(os.getloadavg()[0], 2),
    }
    if method != "full":
        import peft
        row["peft"] = peft.__version__
    row.update(desc)
    return row


def train_all(args) -> list[dict]:
    """Each method in a fresh interpreter so ru_maxrss is per method; rows in order."""
    rows = []
    for method in TRAIN_METHODS:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--model", str(args.model),
               "--train", method, "--seq", str(args.seq), "--batch", str(args.batch),
               "--threads", str(args.threads), "--iters", str(args.iters),
               "--warmup", str(args.warmup), "--lora-dropout", str(args.lora_dropout), "--json"]
        if not args.json:
            print(f"[{method}] running ...", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        row = None
        for line in reversed(proc.stdout.splitlines()):
            if line.startswith("{"):
                try:
                    row = json.loads(line)
                    break
                except json.JSONDecodeError:
                    pass
        if proc.returncode != 0 or row is None:
            tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            row = {"peer": TRAIN_PEER, "method": method, "seq": args.seq, "batch": args.batch,
                   "threads": args.threads, "examples_per_s": None, "peak_rss_bytes": None,
                   "error": f"exit {proc.returncode}: {tail}"}
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
    return rows


def print_train_table(rows: list[dict], args) -> None:
    print(f"{TRAIN_PEER} training: seq={args.seq} batch={args.batch} threads={args.threads} "
          f"iters={args.iters} warmup={args.warmup}, AdamW lr={TRAIN_LR}, dropout on")
    print(f"{'method':<12}{'ex/s med':>10}{'ex/s best':>11}{'ms/step':>10}"
          f"{'peak RSS':>11}{'train RSS':>11}{'trainable':>12}  config")
    mib = lambda b: f"{b / 1048576:.0f} MiB" if b else "-"
    for r in rows:
        if r.get("examples_per_s") is None:
            why = r.get("skipped") or r.get("error")
            print(f"{r['method']}: {why}" if "skipped" in r else f"{r['method']:<12}failed: {why}")
            continue
        print(f"{r['method']:<12}{r['examples_per_s']:>10.1f}{r['examples_per_s_best']:>11.1f}"
              f"{r['ms_per_step']:>10.0f}{mib(r['peak_rss_bytes']):>11}"
              f"{mib(r.get('train_peak_rss_bytes')):>11}{r['trainable_params']:>12,}  {r.get('config', '')}")
    loads = [r[k] for r in rows for k in ("loadavg_1m_start", "loadavg_1m_end") if r.get(k) is not None]
    if loads:
        print(f"1-min load average during runs: {min(loads):.2f} .. {max(loads):.2f} "
              f"(on {os.cpu_count()} CPUs; above {args.threads} means other work shared the cores)")
    print("peak RSS = ru_maxrss of the method's process (includes model load); "
          "train RSS = high-water mark over warm-up + timed steps only")


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
    if args.train:
        if args.train != "full":
            needed += ["peft"]  # bitsandbytes is optional: qlora reports itself skipped
    elif "onnx" in args.which:
        needed += ["onnx", "onnxruntime"]
    require(needed)
    if not (args.model / "model.safetensors").is_file():
        print(f"error: no model at {args.model}; run scripts/fetch_model.sh", file=sys.stderr)
        return 2

    if args.train == "all":
        rows = train_all(args)
        if not args.json:
            print_train_table(rows, args)
        return 1 if any("error" in r for r in rows) else 0

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already fixed by an earlier parallel call; harmless

    if args.train:
        warnings.filterwarnings("ignore")
        row = bench_train(args.train, args)
        if args.json:
            print(json.dumps(row), flush=True)
        elif "skipped" in row:
            print(f"{row['method']}: {row['skipped']}")
        else:
            print_train_table([row], args)
        return 0

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
