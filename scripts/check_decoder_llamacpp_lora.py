#!/usr/bin/env python3
"""Check that the llama.cpp LoRA adapters evalharness saves load in llama.cpp and score what evalharness scored.

The llama.cpp counterpart of scripts/check_decoder_peft_roundtrip.py (which loads the same runs in
transformers + PEFT; this script follows its CLI, prompts, scoring, report and exit codes). Every
decoder LoRA / QLoRA adapter is saved a second time as llama.cpp's adapter GGUF,
<out>/adapters/<candidate>/adapter_model.gguf (DecoderAdapterExport.swift, LlamaLoRA.swift).
Needs llama-cpp-python, gguf, numpy, PyYAML and tokenizers (not torch), i.e. run it with
/work/llamacpp-venv/bin/python (`/work/llamacpp-venv/bin/pip install pyyaml tokenizers` if missing),
from the repository root:

    .build/release/evalharness compare suite.yaml --out /tmp/dec-out
    /work/llamacpp-venv/bin/python scripts/check_decoder_llamacpp_lora.py \\
        --results /tmp/dec-out/results.json --adapters /tmp/dec-out/adapters \\
        --model models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf \\
        [--suite suite.yaml] [--candidates lora qlora ...] [--limit N] [--swap-scale]

What it runs: llama_cpp.Llama(model_path=GGUF, lora_path=adapter_model.gguf, lora_scale=1,
logits_all=True, n_ctx = n_batch = n_ubatch = the suite's max_length (so each sequence is one
decode), 2 threads (--threads; OMP_WAIT_POLICY=PASSIVE unless already set), CPU), what
`llama-cli -m GGUF --lora adapter_model.gguf` does: the GGUF's own quantised weights (Q4_1, Q8_0
embedding) through llama.cpp's kernels, plus scale·B(A x) with scale = lora_scale · alpha / r.
`Llama._lora_adapter` is checked after loading (a failed LoRA load can go unnoticed until the next
eval crashes); a failure there is a FAIL, rerun with --verbose to see llama.cpp's log.
Cost: ~60-token prompts, one model load per candidate; on a busy 2-core machine OpenMP's spinning
made the default 2 threads slow (7.7 s per prompt under `nice` before PASSIVE was set), so there
prefer --threads 1 and --limit N.

Control: the suite's zero-shot `base` candidate (always scored, whether or not --candidates names it;
results.json must have one) is scored by the same llama.cpp model with no LoRA. llama.cpp computes with
its own quantised kernels (Q4_1 weights x Q8 activations, an f16 KV cache) where evalharness computes
with the weights dequantised to fp32, so even the control differs: max |Δprob| 0.048, mean 0.012
on the first 40 test examples of suites/decoder-sentiment.yaml (1 label of 40 flipped, at p~0.5);
the control's max |Δprob| measures that floor.

Scoring, as evalharness does (LabelScoring.swift, LabelScoringPrompt.swift) and as
check_decoder_peft_roundtrip.py does: prompt = the suite's task.prompt
with {text} replaced by the example's text; verbalisers = task.verbalizers (a mapping; a label left out: " " + label); token ids
from the reference tokenizer of check_decoder_peft_roundtrip.py (its `Tokens`: the fixture BPE from
the GGUF's vocab and merges, Digits + ByteLevel, no BOS/EOS), imported from it, not copied; class
score = the verbaliser tokens' summed log_softmax (float64 of llama.cpp's fp32 logits) after the
prompt; class probabilities = softmax over the K scores. Prompts go one per eval (no padding). The
test examples are those whose ids appear in the candidate's seed_runs[0].predictions (--limit N: the
first N of them).
Prompt cut: a prompt longer than max_length - (longest verbaliser) tokens loses the first tokens of
the example's TEXT, the template staying whole (PromptTemplate.encode in
Sources/Runner/LabelScoringPrompt.swift; check_decoder_peft_roundtrip.py's `encode_prompt`).

Checks per LoRA / QLoRA candidate with adapter_model.gguf (a lora / qlora candidate without one is
listed as SKIP "no adapter_model.gguf"; other methods are listed as not LoRA):
  - the adapter GGUF: general.architecture = the base's, general.type = adapter, adapter.type = lora,
    adapter.lora.alpha = the candidate's alpha; only blk.{i}.<site>.weight.lora_a/lora_b tensors,
    paired, fp32, finite, lora_a (r, in) and lora_b (out, r) with (in, out) of the base GGUF's tensor,
    one rank equal to the candidate's rank, exactly the candidate's target_modules in every layer;
  - when adapter_model.safetensors (PEFT) is beside it: its lora_A equal lora_a and its lora_B, rows of
    q_proj / k_proj permuted as convert_hf_to_gguf.py permutes attn_q / attn_k (heads, 2, d/2 ->
    heads, d/2, 2), equal lora_b, bit for bit (a wrong permutation would still load and run);
  - llama.cpp loads it (`_lora_adapter` set) and the class probabilities agree with results.json.
PASS rule (printed by the script): for every candidate, max |Δprob| <= max(3 x the control's max
|Δprob|, 0.1) and the predicted labels agree on at least all but 5 % of the examples; the control
itself must meet the label part (otherwise tokenisation, prompt or model differ). A QLoRA candidate
with `quantization: nf4` (evalharness scored it over NF4 re-quantised weights, llama.cpp applies the
adapter to the GGUF's Q4_1 ones) is reported but not gated (WARN when outside the rule).
mean |Δprob| = the mean over examples of the largest |Δ| among the example's class probabilities.
For information: whether llama.cpp's own tokenizer (Llama.tokenize, special=True, no BOS) gives the
reference ids for every whole prompt and verbaliser (the scores use the reference ids regardless).

Negative check, the proof that the check can fail: --swap-scale loads every adapter with
lora_scale=2.0 (llama.cpp then adds 2·alpha/r·B·A, as if alpha were doubled); with a trained adapter
this must make the run FAIL (exit 1). The control is unaffected. Measured on the first 20 test
examples of suites/decoder-sentiment.yaml (its lora adapter converted to llama.cpp's format by hand,
before evalharness wrote adapter_model.gguf): lora and qlora (gguf) pass, max |Δprob| 0.043 / 0.040
(control 0.048, bound 0.143), 19/20 labels; the same lora with alpha doubled (what --swap-scale does)
fails, max |Δprob| 0.265 and 6/20 labels flipped.

Exit status: 0 when the control and every gated candidate pass; 1 when one fails or does not load;
2 for bad arguments / inputs (including a --model whose sha256 is not results.json's model.sha256).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "scripts"))
try:
    import check_decoder_peft_roundtrip as peft_check  # stdlib only at import; torch only inside its functions
finally:
    sys.path.pop(0)

THREADS = 2
CONTROL_FACTOR = 3.0        # a candidate may differ 3x as much as the base model alone does ...
# ... and at least this much: llama.cpp's Q4_1 x Q8 products move SmolLM2's class probabilities by up to
# 0.05 alone (control, 40 reviews) and 0.066 with an adapter, while an adapter at twice its scale
# moves them by 0.18-0.38: 0.1 separates the two whatever --limit leaves of the control.
MIN_PROB_BOUND = 0.1
MAX_LABEL_SHARE = 0.05      # labels may differ on at most this share of the examples
CONTROL_WARN = 0.05         # the control differing more than this is unexpected for kernels alone
SWAP_SCALE = 2.0
LLAMACPP_FILE = "adapter_model.gguf"
PEFT_FILE = "adapter_model.safetensors"

# PEFT module name -> llama.cpp tensor name (and the encoder role names evalharness also accepts).
GGUF_SITES = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
              "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down"}
PEFT_PARENTS = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
                "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}
ENCODER_ROLES = {"query": "q_proj", "key": "k_proj", "value": "v_proj", "attention.output.dense": "o_proj"}
LORA_TENSOR = re.compile(r"^blk\.(\d+)\.([a-z_]+)\.weight\.lora_([ab])$")


def fail_input(message: str) -> "NoReturn":  # noqa: F821
    print(f"check_decoder_llamacpp_lora: {message}", file=sys.stderr)
    sys.exit(2)


# The PEFT script's helpers (candidate_predictions, load_test_examples) report bad input through its
# module-level fail_input: make that ours.
peft_check.fail_input = fail_input


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", required=True, help="results.json written by `evalharness compare`")
    parser.add_argument("--adapters", required=True, help="the run's adapters/ folder (one subfolder per candidate)")
    parser.add_argument("--model", required=True, help="the base model: the suite's GGUF file")
    parser.add_argument("--suite", help="the suite YAML (default: results.json suite.path)")
    parser.add_argument("--candidates", nargs="+", help="candidate names to check (default: all in results.json); "
                                                        "the zero-shot base candidate is always scored as the control")
    parser.add_argument("--limit", type=int, help="score only the first N test examples")
    parser.add_argument("--swap-scale", action="store_true",
                        help=f"negative check: load every adapter with lora_scale={SWAP_SCALE:g}; the run must then FAIL")
    parser.add_argument("--threads", type=int, default=THREADS, help=f"llama.cpp threads (default {THREADS})")
    parser.add_argument("--verbose", action="store_true", help="show llama.cpp's log (model and adapter loading)")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


# ---------------------------------------------------------------------------------------------
# Prompts (evalharness's current cutting rule).

encode_prompt = peft_check.encode_prompt  # PromptTemplate.encode's cut: the text's first tokens go


# ---------------------------------------------------------------------------------------------
# The adapter files.

def parse_targets(setting) -> list[str] | None:
    """The candidate's target_modules as PEFT names (LlamaLinear.parse), None if not understood."""
    if setting is None:
        return None
    names = setting if isinstance(setting, list) else [n.strip() for n in str(setting).split(",") if n.strip()]
    if names == ["all-linear"]:
        return list(GGUF_SITES)
    out = []
    for name in names:
        peft_name = name if name in GGUF_SITES else ENCODER_ROLES.get(name) or name.rpartition(".")[2]
        if peft_name not in GGUF_SITES:
            return None
        if peft_name not in out:
            out.append(peft_name)
    return out


def field_value(reader, key):
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def read_safetensors(path: Path) -> dict:
    """name -> numpy array, without the safetensors package (F32 / F16 / BF16)."""
    import numpy as np

    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        chunk = raw[8 + size + start:8 + size + end]
        if meta["dtype"] == "F32":
            values = np.frombuffer(chunk, dtype="<f4")
        elif meta["dtype"] == "F16":
            values = np.frombuffer(chunk, dtype="<f2").astype(np.float32)
        elif meta["dtype"] == "BF16":
            values = (np.frombuffer(chunk, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path.name}: {name} has dtype {meta['dtype']}")
        out[name] = values.reshape(meta["shape"])
    return out


def llamacpp_permute(rows, heads: int):
    """convert_hf_to_gguf.py's LlamaModel.permute of a q/k weight's rows (Hugging Face -> llama.cpp order)."""
    return rows.reshape(heads, 2, rows.shape[0] // heads // 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


class BaseGGUF:
    """What the adapter is checked against: the base GGUF's architecture, layers, heads and the
    (in, out) of every weight."""

    def __init__(self, path: Path):
        from gguf import GGUFReader

        reader = GGUFReader(str(path))
        self.arch = field_value(reader, "general.architecture")
        if not self.arch:
            fail_input(f"{path}: no general.architecture; not a GGUF model")
        self.layers = int(field_value(reader, f"{self.arch}.block_count"))
        self.heads = int(field_value(reader, f"{self.arch}.attention.head_count"))
        self.kv_heads = int(field_value(reader, f"{self.arch}.attention.head_count_kv") or self.heads)
        self.shapes = {t.name: (int(t.shape[0]), int(t.shape[1])) for t in reader.tensors if len(t.shape) == 2}
        del reader


def check_adapter(path: Path, base: BaseGGUF, settings: dict) -> tuple[list[str], list[str], float | None, int | None]:
    """Problems (FAIL) and information about adapter_model.gguf; its alpha and rank."""
    import numpy as np
    from gguf import GGUFReader

    problems, info = [], []
    reader = GGUFReader(str(path))
    arch, kind, adapter = (field_value(reader, k) for k in ("general.architecture", "general.type", "adapter.type"))
    alpha = field_value(reader, "adapter.lora.alpha")
    if arch != base.arch:
        problems.append(f"general.architecture {arch!r}, the base model's is {base.arch!r}")
    if kind != "adapter":
        problems.append(f"general.type {kind!r}, expected 'adapter'")
    if adapter != "lora":
        problems.append(f"adapter.type {adapter!r}, expected 'lora'")
    alpha_field = reader.fields.get("adapter.lora.alpha")
    if alpha is None:
        problems.append("no adapter.lora.alpha (llama.cpp would then scale by 1, not alpha / r)")
    elif alpha_field.types and alpha_field.types[0].name != "FLOAT32":
        problems.append(f"adapter.lora.alpha is {alpha_field.types[0].name}, expected FLOAT32")
    if settings.get("alpha") is not None and alpha is not None and not math.isclose(float(alpha), float(settings["alpha"]), rel_tol=1e-6):
        problems.append(f"adapter.lora.alpha {alpha:g}, the candidate's alpha is {settings['alpha']}")

    pairs: dict[tuple[int, str], dict[str, object]] = {}
    for tensor in reader.tensors:
        match = LORA_TENSOR.match(tensor.name)
        if not match:
            problems.append(f"unexpected tensor {tensor.name}")
            continue
        layer, site, which = int(match.group(1)), match.group(2), match.group(3)
        if tensor.tensor_type.name != "F32":
            problems.append(f"{tensor.name} is {tensor.tensor_type.name}, expected F32")
            continue
        pairs.setdefault((layer, site), {})[which] = np.array(tensor.data, dtype=np.float32)
    ranks, zero_b = set(), 0
    for (layer, site), pair in sorted(pairs.items()):
        name = f"blk.{layer}.{site}.weight"
        if set(pair) != {"a", "b"}:
            problems.append(f"{name}: lora_{'a' if 'a' not in pair else 'b'} missing")
            continue
        if name not in base.shapes:
            problems.append(f"{name}: no such weight in the base model")
            continue
        n_in, n_out = base.shapes[name]
        a, b = pair["a"], pair["b"]
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != n_in or b.shape[0] != n_out or a.shape[0] != b.shape[1]:
            problems.append(f"{name}: lora_a {tuple(a.shape)}, lora_b {tuple(b.shape)}; expected (r, {n_in}) and ({n_out}, r)")
            continue
        ranks.add(a.shape[0])
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            problems.append(f"{name}: non-finite values")
        zero_b += int(not b.any())
    rank = next(iter(ranks)) if len(ranks) == 1 else None
    if len(ranks) > 1:
        problems.append(f"several ranks: {sorted(ranks)}")
    if settings.get("rank") is not None and rank is not None and rank != int(settings["rank"]):
        problems.append(f"rank {rank}, the candidate's rank is {settings['rank']}")
    targets = parse_targets(settings.get("target_modules"))
    if targets is None:
        info.append(f"target_modules {settings.get('target_modules')!r} not understood here; sites not checked")
    else:
        expected = {(layer, GGUF_SITES[t]) for layer in range(base.layers) for t in targets}
        missing, extra = sorted(expected - set(pairs)), sorted(set(pairs) - expected)
        if missing:
            problems.append(f"{len(missing)} adapted weights missing, e.g. blk.{missing[0][0]}.{missing[0][1]}")
        if extra:
            problems.append(f"{len(extra)} weights adapted that target_modules does not name, e.g. blk.{extra[0][0]}.{extra[0][1]}")
    if pairs and zero_b == len(pairs):
        info.append("WARN every lora_b is all zeros: the adapter changes nothing (untrained?)")
    sites = sorted({site for _, site in pairs})
    scale = f"{float(alpha) / rank:g}" if alpha is not None and rank else "?"
    info.append(f"{LLAMACPP_FILE}: {len(pairs)} adapted weights ({', '.join(sites)} over {len({l for l, _ in pairs})} layers), "
                f"r={rank}, alpha={alpha if alpha is None else f'{float(alpha):g}'}, llama.cpp scale alpha/r={scale}")
    del reader
    return problems, info, (None if alpha is None else float(alpha)), rank


def check_against_peft(gguf_path: Path, peft_path: Path, base: BaseGGUF) -> tuple[list[str], str]:
    """adapter_model.gguf holds exactly the PEFT adapter's A and B (B of q/k permuted llama.cpp's way)."""
    import numpy as np
    from gguf import GGUFReader

    peft = read_safetensors(peft_path)
    reader = GGUFReader(str(gguf_path))
    inverse = {site: module for module, site in GGUF_SITES.items()}
    problems, compared = [], 0
    for tensor in reader.tensors:
        match = LORA_TENSOR.match(tensor.name)
        if not match or match.group(2) not in inverse:
            continue
        layer, module, which = int(match.group(1)), inverse[match.group(2)], match.group(3)
        key = f"base_model.model.model.layers.{layer}.{PEFT_PARENTS[module]}.{module}.lora_{which.upper()}.weight"
        if key not in peft:
            problems.append(f"{tensor.name}: no {key} in {PEFT_FILE}")
            continue
        original = expected = peft.pop(key)
        if which == "b" and module in ("q_proj", "k_proj"):
            expected = llamacpp_permute(original, base.heads if module == "q_proj" else base.kv_heads)
        got = np.array(tensor.data, dtype=np.float32)
        compared += 1
        if got.shape != expected.shape or not np.array_equal(got, expected):
            detail = (f"shape {tuple(got.shape)} vs {tuple(expected.shape)}" if got.shape != expected.shape
                      else f"max |diff| {float(np.abs(got - expected).max()):.3g}")
            unpermuted = (which == "b" and module in ("q_proj", "k_proj") and got.shape == expected.shape
                          and np.array_equal(got, original))
            problems.append(f"{tensor.name} differs from {PEFT_FILE}'s {key.split('model.model.')[-1]} ({detail})"
                            + ("; it is the Hugging Face row order, not permuted for llama.cpp" if unpermuted else ""))
    leftover = [k for k in peft if ".lora_" in k]
    if leftover:
        problems.append(f"{len(leftover)} PEFT tensors have no counterpart in {LLAMACPP_FILE}, e.g. {leftover[0]}")
    del reader
    return problems, f"{compared} tensors bit-equal to {PEFT_FILE}'s (q/k lora_B permuted)" if not problems else ""


# ---------------------------------------------------------------------------------------------
# llama.cpp.

def load_llama(model_path: Path, lora_path: Path | None, lora_scale: float, n_ctx: int, threads: int, verbose: bool):
    from llama_cpp import Llama

    kwargs = dict(model_path=str(model_path), logits_all=True, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx,
                  n_threads=threads, n_threads_batch=threads, n_gpu_layers=0, seed=0, verbose=verbose)
    if lora_path is not None:
        kwargs.update(lora_path=str(lora_path), lora_scale=lora_scale)
    llm = Llama(**kwargs)
    if lora_path is not None and not llm._lora_adapter:
        llm.close()
        raise RuntimeError(f"llama.cpp did not load the LoRA adapter {lora_path} (Llama._lora_adapter is unset); "
                           "rerun with --verbose to see llama.cpp's log")
    return llm


def log_softmax(rows):
    import numpy as np

    rows = np.asarray(rows, dtype=np.float64)
    top = rows.max(axis=-1, keepdims=True)
    return rows - top - np.log(np.exp(rows - top).sum(axis=-1, keepdims=True))


def score(llm, prompts: list[list[int]], verbalizers: list[list[int]]):
    """(N, K) class probabilities: softmax over the K verbalisers' summed log-probabilities after the
    prompt (float64 from llama.cpp's fp32 logits). One prompt per eval, from an empty KV cache; with
    single-token verbalisers the prompt alone, the row at its last token; otherwise prompt + verbaliser
    per eval, the rows before each verbaliser token."""
    import numpy as np

    single = all(len(v) == 1 for v in verbalizers)
    out = []
    for ids in prompts:
        if single:
            llm.reset()
            llm.eval(ids)
            assert llm.n_tokens == len(ids), (llm.n_tokens, len(ids))
            lp = log_softmax(llm.scores[len(ids) - 1])
            scores = [float(lp[v[0]]) for v in verbalizers]
        else:
            scores = []
            for v in verbalizers:
                full = ids + v
                llm.reset()
                llm.eval(full)
                assert llm.n_tokens == len(full), (llm.n_tokens, len(full))
                lp = log_softmax(llm.scores[len(ids) - 1:len(full) - 1])
                scores.append(float(sum(lp[j, t] for j, t in enumerate(v))))
        s = np.array(scores, dtype=np.float64)
        if not np.isfinite(s).all():
            raise FloatingPointError(f"non-finite scores {scores}")
        w = np.exp(s - s.max())
        out.append(w / w.sum())
    return np.array(out)


def compare(expected: list[dict], probabilities) -> tuple[int, float, float, list[str]]:
    """Labels agreeing, max and mean |Δprob| (mean over examples of each one's largest |Δ|), flips."""
    import numpy as np

    agree, max_delta, flipped = peft_check.compare(expected, probabilities)
    reference = np.array([p["probabilities"] for p in expected], dtype=np.float64)
    mean_delta = float(np.abs(reference - probabilities).max(axis=1).mean()) if len(expected) else 0.0
    return agree, max_delta, mean_delta, flipped


def tokenizer_agreement(llm, tokens, texts: list[str], verbalizer_texts: list[str]) -> str:
    """For information: does llama.cpp's own tokenizer give the reference ids?"""
    differ = []
    for text in texts + verbalizer_texts:
        ours = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if list(ours) != tokens.encode(text):
            differ.append(text)
    line = (f"llama.cpp's own tokenizer (special=True, no BOS): the reference ids on "
            f"{len(texts) + len(verbalizer_texts) - len(differ)}/{len(texts) + len(verbalizer_texts)} whole prompts and verbalisers")
    if differ:
        line += f" (first that differs: {differ[0][:80]!r})"
    return line


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    started = time.time()
    args = parse_args(argv)
    # llama.cpp's OpenMP threads spin while they wait; on a busy machine (and under `nice`) that
    # burns CPU for nothing and slowed a 2-thread run ~20x. Must be set before the library loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import numpy as np  # noqa: F401
        import yaml
        import gguf  # noqa: F401
        import llama_cpp
    except ImportError as error:
        fail_input(f"{error}; run with /work/llamacpp-venv/bin/python {sys.argv[0]} … "
                   "(`/work/llamacpp-venv/bin/pip install pyyaml tokenizers` if a module is missing)")

    results_path = Path(args.results)
    if not results_path.exists():
        fail_input(f"no such file {results_path}")
    results = json.loads(results_path.read_text())
    adapters = Path(args.adapters)
    if not adapters.is_dir():
        fail_input(f"no such folder {adapters}")
    model_path = peft_check.resolve(args.model, REPO_ROOT)
    if not model_path.is_file() or model_path.open("rb").read(4) != b"GGUF":
        fail_input(f"{model_path}: not a GGUF file (llama.cpp needs the suite's GGUF model)")
    expected_sha = (results.get("model") or {}).get("sha256")
    if expected_sha and sha256(model_path) != expected_sha:
        fail_input(f"{model_path}: sha256 differs from results.json's model.sha256 {expected_sha[:12]}…; pass the run's model")
    suite_arg = args.suite or (results.get("suite") or {}).get("path")
    if not suite_arg:
        fail_input("results.json has no suite.path; pass --suite")
    suite_path = peft_check.resolve(suite_arg, REPO_ROOT)
    if not suite_path.exists():
        fail_input(f"no such suite {suite_arg}")
    suite = yaml.safe_load(suite_path.read_text())
    task = suite.get("task") or {}
    if task.get("chat"):
        fail_input(f"{suite_path}: task.chat is set; this script scores chat-free prompts only")
    if not results.get("labels"):
        fail_input(f"{results_path}: no labels; label scoring needs a classification run")
    max_length = int((suite.get("model") or {}).get("max_length", 128))
    labels = list(results["labels"])
    template = task.get("prompt") or "{text}\nAnswer:"
    verbalizer_texts = peft_check.verbalizer_texts_of(task, labels, suite_path)

    candidates = results["candidates"]
    control = next((c for c in candidates if c.get("method", c["name"]) == "base"), None)
    if control is None:
        fail_input("results.json has no zero-shot `method: base` candidate, needed as the control "
                   "(add `{name: zero-shot, method: base}` to the suite)")
    if args.candidates:
        known = {c["name"] for c in candidates}
        unknown = [n for n in args.candidates if n not in known]
        if unknown:
            fail_input(f"unknown candidates {unknown} (known: {sorted(known)})")
        candidates = [c for c in candidates if c["name"] in args.candidates]
    candidates = [c for c in candidates if c is not control]

    try:
        tokens = peft_check.Tokens(model_path)
    except ImportError as error:
        fail_input(f"{error}; `/work/llamacpp-venv/bin/pip install tokenizers`")
    verbalizers = [tokens.encode(v) for v in verbalizer_texts]
    if any(not v for v in verbalizers):
        fail_input(f"a verbaliser has no tokens: {verbalizer_texts}")
    longest = max(len(v) for v in verbalizers)
    room = max_length - longest
    if room < 1:
        fail_input(f"max_length {max_length} leaves no room for a prompt before a {longest}-token verbaliser")
    n_ctx = max(max_length, 32)
    base = BaseGGUF(model_path)
    print(f"tokenizer: {tokens.kind}; template {template!r}; verbalisers "
          + ", ".join(f"{t!r}={v}" for t, v in zip(verbalizer_texts, verbalizers)) + f"; max_length {max_length}")
    print(f"llama.cpp: llama-cpp-python {llama_cpp.__version__}, {model_path.name} ({base.arch}, {base.layers} layers), "
          f"n_ctx {n_ctx}, {args.threads} threads" + (f"; --limit {args.limit}" if args.limit else ""))
    if args.swap_scale:
        print(f"NEGATIVE CHECK (--swap-scale): every adapter loaded with lora_scale={SWAP_SCALE:g}; this run is expected to FAIL")

    examples_cache: dict[tuple, tuple] = {}

    def prompts_for(candidate):
        predictions = peft_check.candidate_predictions(candidate)[:args.limit]
        ids = [str(p["id"]) for p in predictions]
        key = tuple(ids)
        if key not in examples_cache:
            examples = peft_check.load_test_examples(suite, suite_path, ids) if ids else []
            for example, prediction in zip(examples, predictions):
                gold = example.get("label")
                if gold in labels and labels.index(gold) != prediction["label"]:
                    fail_input(f"{candidate['name']}: {example['id']} has label {gold!r} in the data but "
                               f"{prediction['label']} in results.json")
            encoded = [encode_prompt(tokens, template, e["text"], room) for e in examples]
            examples_cache[key] = ([p for p, _ in encoded], sum(c for _, c in encoded), examples)
        return predictions, examples_cache[key]

    rows, failures, warnings_out = [], [], []

    # The control: the base model alone.
    t0 = time.time()
    predictions, (prompts, cut, examples) = prompts_for(control)
    if not predictions:
        fail_input(f"{control['name']}: no predictions in results.json")
    try:
        llm = load_llama(model_path, None, 1.0, n_ctx, args.threads, args.verbose)
        token_line = tokenizer_agreement(llm, tokens, [template.replace("{text}", e["text"]) for e in examples], verbalizer_texts)
        probabilities = score(llm, prompts, verbalizers)
        llm.close()
    except Exception as error:
        message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        print(f"FAIL control {control['name']}: llama.cpp failed to load or run the base model: {message}")
        return 1
    n = len(predictions)
    agree, control_max, control_mean, flipped = compare(predictions, probabilities)
    bound = max(CONTROL_FACTOR * control_max, MIN_PROB_BOUND)
    notes = []
    if n - agree > MAX_LABEL_SHARE * n:
        notes.append(f"{n - agree} labels differ (> {MAX_LABEL_SHARE:.0%}): tokenisation, prompt or model differ; "
                     + "; ".join(flipped[:4]))
    if control_max > CONTROL_WARN:
        warnings_out.append(f"{control['name']} (control): max |Δprob| {control_max:.3g} > {CONTROL_WARN:g}, "
                            "more than llama.cpp's kernels alone usually explain")
    if notes:
        failures.append(f"{control['name']} (control): " + "; ".join(notes))
    rows.append((control["name"], "base: llama.cpp, no LoRA (control)", n, agree, control_max, control_mean,
                 "FAIL" if notes else "control"))
    print(f"\n{control['name']} (control: the base GGUF in llama.cpp, no LoRA; {time.time() - t0:.1f} s)"
          + (f"; {cut} prompt(s) cut (their text's first tokens dropped)" if cut else ""))
    print(f"  {token_line}")
    if agree < n:
        print(f"  {n - agree} labels differ: " + "; ".join(flipped[:4]))
    print(f"\nPASS rule: every LoRA candidate's max |Δprob| <= max({CONTROL_FACTOR:g} x control {control_max:.3g}, "
          f"{MIN_PROB_BOUND:g}) = {bound:.3g}, and labels agree on at least all but {MAX_LABEL_SHARE:.0%} of the examples")

    checked = 0
    for candidate in candidates:
        name, method = candidate["name"], candidate.get("method", candidate["name"])
        settings = candidate.get("settings") or {}
        directory = adapters / name
        gguf_path = directory / LLAMACPP_FILE
        if method not in ("lora", "qlora"):
            rows.append((name, method, 0, 0, float("nan"), float("nan"), "skip: not a LoRA adapter"))
            continue
        if not gguf_path.exists():
            rows.append((name, method, 0, 0, float("nan"), float("nan"), f"SKIP: no {LLAMACPP_FILE}"))
            warnings_out.append(f"{name}: no {LLAMACPP_FILE} in {directory} (a run from before evalharness wrote them?)")
            continue
        nf4 = method == "qlora" and str(settings.get("quantization", "nf4")).lower() != "gguf"
        t0 = time.time()
        predictions, (prompts, cut, examples) = prompts_for(candidate)
        if not predictions:
            failures.append(f"{name}: no predictions in results.json")
            rows.append((name, method, 0, 0, float("nan"), float("nan"), "no predictions"))
            continue
        try:
            problems, info, alpha, rank = check_adapter(gguf_path, base, settings)
            if (directory / PEFT_FILE).exists():
                peft_problems, peft_line = check_against_peft(gguf_path, directory / PEFT_FILE, base)
                problems += peft_problems
                if peft_line:
                    info.append(peft_line)
            scale = SWAP_SCALE if args.swap_scale else 1.0
            llm = load_llama(model_path, gguf_path, scale, n_ctx, args.threads, args.verbose)
            probabilities = score(llm, prompts, verbalizers)
            llm.close()
        except Exception as error:  # a loader rejecting the file is a finding, not a crash
            message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            failures.append(f"{name}: failed to load or run: {message}")
            rows.append((name, method, len(predictions), 0, float("nan"), float("nan"), "load failed"))
            continue
        checked += 1
        n = len(predictions)
        agree, delta, mean_delta, flipped = compare(predictions, probabilities)
        outside = []
        if n - agree > MAX_LABEL_SHARE * n:
            outside.append(f"{n - agree}/{n} labels differ (> {MAX_LABEL_SHARE:.0%}): " + "; ".join(flipped[:3]))
        if not delta <= bound:
            outside.append(f"max |Δprob| {delta:.3g} > {bound:.3g}")
        loader = (f"llama.cpp + LoRA (lora_scale {scale:g})" + (", NF4 in evalharness: not gated" if nf4 else ""))
        if nf4:
            status = "info" if not (outside or problems) else "WARN"
            if outside:
                warnings_out.append(f"{name} (NF4 base in evalharness, Q4_1 in llama.cpp): " + "; ".join(outside))
            if problems:
                failures.append(f"{name}: " + "; ".join(problems))
                status = "FAIL"
        else:
            notes = problems + outside
            if notes:
                failures.append(f"{name}: " + "; ".join(notes))
            status = "FAIL" if notes else "ok"
        rows.append((name, f"{method}: {loader}", n, agree, delta, mean_delta, status))
        print(f"\n{name} ({loader}; {time.time() - t0:.1f} s)"
              + (f"; {cut} prompt(s) cut (their text's first tokens dropped)" if cut else ""))
        for line in info:
            if line.startswith("WARN "):
                warnings_out.append(f"{name}: {line[5:]}")
            print(f"  {line}")
        for problem in problems:
            print(f"  problem: {problem}")
        if agree < n:
            print(f"  {n - agree} labels differ: " + "; ".join(flipped[:4]))

    print()
    header = ("candidate", "method", "examples", "labels agree", "max |Δprob|", "mean |Δprob|", "status")
    fmt = lambda x: "-" if math.isnan(x) else f"{x:.2e}"  # noqa: E731
    table = [header] + [(r[0], r[1], str(r[2]), f"{r[3]}/{r[2]}" if r[2] else "-", fmt(r[4]), fmt(r[5]), r[6]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\nPASS rule: max |Δprob| <= {bound:.3g} (max({CONTROL_FACTOR:g} x control, {MIN_PROB_BOUND:g})) and "
          f"labels differing on at most {MAX_LABEL_SHARE:.0%} of the examples")
    for warning in warnings_out:
        print(f"WARN {warning}")
    if not checked:
        print(f"NOTE no LoRA adapter was checked (no candidate with {LLAMACPP_FILE}); only the control ran")
    print(f"\ntotal {time.time() - started:.0f} s")
    if failures:
        print()
        for failure in failures:
            print(f"FAIL {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
