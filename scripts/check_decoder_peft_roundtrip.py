#!/usr/bin/env python3
"""Check that the decoder adapters and fine-tuned models evalharness saves load in Hugging Face tools and score what evalharness scored.

The decoder counterpart of scripts/check_peft_roundtrip.py (the encoder's). Needs the project's
Python environment (torch, transformers, peft, bitsandbytes, gguf, tokenizers, PyYAML), i.e. run it
with /work/venv/bin/python, from the repository root, offline:

    .build/release/evalharness compare suite.yaml --out /tmp/dec-out
    HF_HUB_OFFLINE=1 /work/venv/bin/python scripts/check_decoder_peft_roundtrip.py \\
        --results /tmp/dec-out/results.json --adapters /tmp/dec-out/adapters \\
        --model models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf \\
        [--suite suite.yaml] [--candidates lora qlora prompt full ...]

Base model: AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, dtype=float32,
attn_implementation="eager") (every GGUF block dequantised to fp32), eval(), 2 threads; loaded once
and deep-copied per candidate. For every candidate it then builds what a user would:
  - base (zero-shot):  the fp32 model itself (a control: it checks tokenisation, prompt and scoring);
  - lora, and qlora with `quantization: gguf` (LoRA over the GGUF file's own Q4_1 blocks, which
    decode to exactly the fp32 values transformers dequantises):
                       PeftModel.from_pretrained(fp32 base, adapters/<candidate>/);
  - qlora (NF4):       the same over a bitsandbytes NF4 base (blocksize 64, double quantisation as the
                       candidate's `double_quantization` setting, compute dtype float32). transformers
                       refuses quantization_config together with gguf_file, so every nn.Linear of
                       model.layers (q/k/v/o/gate/up/down of each layer) is replaced by a
                       bitsandbytes Linear4bit holding bitsandbytes' own quantize_4bit of the same
                       fp32 weight (embedding, norms and the tied lm_head stay fp32), and
                       model.is_loaded_in_4bit = True so that PEFT wraps them with its bnb LoRA layer;
  - prompt:            PeftModel.from_pretrained(fp32 base, dir) (PROMPT_TUNING; PEFT prepends the
                       virtual tokens, positions 0..P-1, the text at P..);
  - full:              adapters/<candidate>/ is a Hugging Face Llama folder (config.json,
                       model.safetensors, tokenizer.json, tokenizer_config.json), loaded on its own:
                       AutoModelForCausalLM.from_pretrained(dir, dtype=float32, attn_implementation=
                       "eager") and AutoTokenizer.from_pretrained(dir). It is scored with the reference
                       tokenizer's ids (below); the folder's tokenizer is checked against them.
Tokenizer: the "original SmolLM2-style" tokenizer of scripts/fixtures/make_decoder_fixture.py
(BPE from the GGUF vocab and merges, Digits(individual_digits=True) + ByteLevel), no BOS/EOS.

Scoring, as evalharness does (LabelScoring.swift, DecoderSuiteModel.swift): prompt = the suite's
task.prompt with {text} replaced by the example's text; verbalisers = task.verbalizers or
" " + label; a prompt with more than max_length - (longest verbaliser) tokens loses the first tokens of its
text, the template staying whole (PromptTemplate.encode);
with single-token verbalisers the class score is log_softmax(logits at the last prompt position)
[verbaliser id] (otherwise the sum over the verbaliser's tokens after prompt + verbaliser); class
probabilities = softmax over the K scores (float64 from the fp32 logits). Prompts go 8 per forward,
sorted by length and right-padded, as evalharness batches them. The test examples are those whose ids appear in results.json (matched by id).

Checks per candidate:
  - every tensor of adapter_model.safetensors is consumed (no unexpected or missing keys, no shape
    mismatch, the loaded values bit-equal to the saved ones), as PEFT only warns about those;
  - adapter_config.json agrees with the candidate's settings (rank, alpha, targets, virtual tokens);
  - full: config.json loads as LlamaConfig with tie_word_embeddings true (in the file, not by default),
    and the fields that change the forward pass (sizes, heads, head_dim, vocab, act, rms_norm_eps,
    rope_parameters, biases) equal the base model's; fields it leaves to LlamaConfig defaults that
    differ from the base model's config are listed for information. model.safetensors: transformers'
    loading info has no missing / unexpected / mismatched keys, every saved tensor is a model tensor,
    every model tensor is saved (lm_head.weight excepted: tied, it must share embed_tokens' storage),
    the loaded fp32 values are bit-equal to the saved ones (and, for information, how many differ from
    the base model's). Tokenizer: AutoTokenizer(dir)(s, add_special_tokens=False) gives exactly the
    reference tokenizer's ids on every test prompt (whole, before any cut) and every verbaliser, the
    default call (add_special_tokens=True) adds nothing, bos/eos/pad ids agree with config.json (and,
    for information, decode gives the text back and bos/eos match the base tokenizer's); a mismatch is
    a FAIL (the scores use the reference ids regardless). Chat template: tokenizer_config.json has the
    base model's template when the base has one (transformers' GGUF tokenizer:
    AutoTokenizer.from_pretrained(GGUF's folder, gguf_file=name)); apply_chat_template renders a user+assistant
    and a system+user (+generation prompt) conversation identically with both, and its tokenize=True
    ids are the reference tokenizer's ids of the rendered text. Everything transformers logs (WARNING
    and up) or warns while loading the folder is captured and printed under the candidate, with a WARN;
  - QLoRA: exactly the 7 linear layers of every decoder layer are Linear4bit, nf4, blocksize 64,
    nested as double_quantization says; nothing else is quantised;
  - predicted labels all equal evalharness's and max |Δprob| <= 1e-4, for every method (QLoRA too:
    with the fp32 dequantise-then-matmul path, see below, the only numerical difference is the
    summation order, and merged (W + s·B·A, evalharness) vs unmerged (Wx + s·B(Ax), PEFT) LoRA).
It also prints, for information, 10 greedy tokens each model generates after two short chat-free prompts.

bitsandbytes 0.50.2 on CPUs with AVX512-BF16: Linear4bit's default eval path repacks the weight with
bf16 block scales and computes in bf16. This script turns that off (support_avx512bf16_for_cpu =
False, as scripts/fixtures/make_decoder_qlora_fixture.py does), so the QLoRA row is bitsandbytes'
exact NF4 dequantisation + torch fp32 matmul; when the CPU has that path it adds an informational
row `<name>+bf16` for the default kernel (held only to <= 1 % of labels; WARN otherwise).

Exit status: 0 when every candidate agrees; 1 when a candidate disagrees or fails to load; 2 for
bad arguments / inputs.
"""
from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # the GGUF loader's per-tensor progress bar

REPO_ROOT = Path(__file__).resolve().parent.parent
THREADS = 2

# Tolerances (see module docstring).
MAX_PROB_DELTA = 1e-4
MAX_BF16_DISAGREEMENT = 0.01   # informational bf16-kernel row only
BLOCKSIZE = 64
QUANTIZED_LINEARS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                     "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")
GENERATION_PROMPTS = ("The capital of France is", "Review: a wonderful, moving film.\nSentiment:")
GENERATED_TOKENS = 10


def fail_input(message: str) -> "NoReturn":  # noqa: F821
    print(f"check_decoder_peft_roundtrip: {message}", file=sys.stderr)
    sys.exit(2)


def resolve(path: str | os.PathLike, *bases: Path) -> Path:
    """A path as given if it exists (relative to the current directory), else relative to the bases."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    for base in bases:
        if (base / p).exists():
            return base / p
    return p


def truthy(value) -> bool:
    return str(value).strip().lower() in ("true", "yes", "on", "1")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", required=True, help="results.json written by `evalharness compare`")
    parser.add_argument("--adapters", required=True, help="the run's adapters/ folder (one subfolder per candidate)")
    parser.add_argument("--model", required=True, help="the base model: the suite's GGUF file (or a Llama folder)")
    parser.add_argument("--suite", help="the suite YAML (default: results.json suite.path)")
    parser.add_argument("--candidates", nargs="+", help="candidate names to check (default: all in results.json)")
    parser.add_argument("--batch-size", type=int, default=8, help="prompts per forward (evalharness: 8)")
    parser.add_argument("--no-generate", action="store_true", help="skip the informational greedy generations")
    parser.add_argument("--verbose", action="store_true", help="show transformers / peft warnings")
    return parser.parse_args(argv)


def candidate_predictions(candidate: dict) -> list[dict]:
    """The test predictions of a candidate: results.json schema 2 keeps them per seed run."""
    if candidate.get("predictions"):
        return candidate["predictions"]
    runs = candidate.get("seed_runs") or []
    if len(runs) > 1:
        fail_input(f"{candidate['name']}: {len(runs)} seed runs; adapters are saved for one, check a one-seed run")
    return (runs[0].get("predictions") or []) if runs else []


def load_test_examples(suite: dict, suite_path: Path, wanted_ids: list[str]) -> list[dict]:
    task = suite.get("task") or {}
    test = task.get("test")
    if not test:
        fail_input(f"{suite_path}: task.test missing")
    test_path = resolve(test, REPO_ROOT, suite_path.parent)
    if not test_path.exists():
        fail_input(f"{suite_path}: test file {test} not found")
    wanted = set(wanted_ids)
    by_id = {}
    with open(test_path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            if str(row.get("id")) in wanted:
                by_id[str(row["id"])] = row
    missing = [i for i in wanted_ids if i not in by_id]
    if missing:
        fail_input(f"{test_path}: {len(missing)} ids from results.json not found (e.g. {missing[:3]})")
    return [by_id[i] for i in wanted_ids]


# ---------------------------------------------------------------------------------------------
# Tokenizer and base model.

class Tokens:
    """encode / decode without special tokens added."""

    def __init__(self, model_path: Path):
        if model_path.is_file():
            sys.path.insert(0, str(REPO_ROOT / "scripts" / "fixtures"))
            try:
                from make_decoder_fixture import build_tokenizer
            finally:
                sys.path.pop(0)
            self.tok, _, _ = build_tokenizer(model_path)
            self.kind = "fixture BPE (GGUF vocab+merges, Digits+ByteLevel)"
            self._encode = lambda text: self.tok.encode(text, add_special_tokens=False).ids
            self._decode = lambda ids: self.tok.decode(ids, skip_special_tokens=False)
        else:
            from transformers import AutoTokenizer

            self.tok = AutoTokenizer.from_pretrained(str(model_path))
            self.kind = "AutoTokenizer"
            self._encode = lambda text: self.tok(text, add_special_tokens=False)["input_ids"]
            self._decode = lambda ids: self.tok.decode(ids, skip_special_tokens=False)

    def encode(self, text: str) -> list[int]:
        return list(self._encode(text))

    def decode(self, ids: list[int]) -> str:
        return self._decode(ids)


def load_base(model_path: Path):
    import torch
    from transformers import AutoModelForCausalLM

    if model_path.is_file():
        model = AutoModelForCausalLM.from_pretrained(str(model_path.parent), gguf_file=model_path.name,
                                                     dtype=torch.float32, attn_implementation="eager")
    else:
        model = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=torch.float32, attn_implementation="eager")
    model.eval()
    if type(model).__name__ != "LlamaForCausalLM":
        fail_input(f"{model_path}: {type(model).__name__}, expected a LlamaForCausalLM")
    if not all(p.dtype == torch.float32 for p in model.parameters()):
        fail_input(f"{model_path}: not every parameter is float32 after loading")
    return model


def quantize_nf4(model, double: bool) -> list[str]:
    """Replace every nn.Linear of model.model.layers by a bitsandbytes Linear4bit quantised (by
    bitsandbytes itself, Params4bit._quantize -> quantize_4bit) from the same fp32 weight. What
    from_pretrained(quantization_config=BitsAndBytesConfig(nf4, blocksize 64, compute fp32)) does
    for a safetensors checkpoint; transformers refuses it for a GGUF one."""
    import bitsandbytes as bnb
    import torch

    replaced = []
    for name, module in list(model.model.layers.named_modules()):
        if type(module) is not torch.nn.Linear:
            continue
        parent_name, _, child = name.rpartition(".")
        parent = model.model.layers.get_submodule(parent_name)
        new = bnb.nn.Linear4bit(module.in_features, module.out_features, bias=module.bias is not None,
                                compute_dtype=torch.float32, compress_statistics=double, quant_type="nf4",
                                quant_storage=torch.uint8, device="meta")
        new.weight = bnb.nn.Params4bit(module.weight.data.detach().clone().contiguous(), requires_grad=False,
                                       blocksize=BLOCKSIZE, compress_statistics=double, quant_type="nf4",
                                       quant_storage=torch.uint8, module=new)
        if module.bias is not None:
            new.bias = torch.nn.Parameter(module.bias.data.clone(), requires_grad=False)
        new = new.to("cpu")  # quantisation happens here
        new.support_avx512bf16_for_cpu = False  # the exact fp32 path (see docstring)
        new.eval()
        setattr(parent, child, new)
        replaced.append(f"model.layers.{name}")
    model.is_loaded_in_4bit = True  # so PEFT dispatches its bitsandbytes LoRA layer
    return replaced


def check_quantized_modules(model, layers: int, double: bool) -> list[str]:
    """Exactly the 7 linears of every decoder layer are NF4 Linear4bit (blocksize 64, nested as
    `double`); the embedding, the norms and the tied lm_head stay fp32."""
    import bitsandbytes as bnb
    import torch

    expected = {f"model.layers.{l}.{m}" for l in range(layers) for m in QUANTIZED_LINEARS}
    found, problems = set(), []
    for name, module in model.named_modules():
        if isinstance(module, bnb.nn.Linear4bit):
            short = name.removeprefix("base_model.model.").removesuffix(".base_layer")
            found.add(short)
            qs = module.weight.quant_state
            if (qs.quant_type, qs.blocksize, bool(qs.nested), module.compute_dtype) != ("nf4", BLOCKSIZE, double, torch.float32):
                problems.append(f"{short}: quant_state {qs.quant_type}/{qs.blocksize}/nested={qs.nested}/{module.compute_dtype}")
    if found != expected:
        problems.append(f"quantised modules differ: extra {sorted(found - expected)[:3]}, missing {sorted(expected - found)[:3]}")
    base = model.get_base_model()
    if type(base.lm_head) is not torch.nn.Linear or base.lm_head.weight.dtype != torch.float32:
        problems.append("lm_head is not an fp32 nn.Linear")
    if base.model.embed_tokens.weight.dtype != torch.float32:
        problems.append("embed_tokens is not fp32")
    return problems


# ---------------------------------------------------------------------------------------------
# Adapter checks.

def check_peft_keys(model, directory: Path) -> list[str]:
    """Problems with the saved PEFT tensors: names PEFT does not use, names it expected but did not
    find, shapes or values that did not land in the model."""
    import torch
    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import load_file

    saved = load_file(str(directory / "adapter_model.safetensors"))
    expected = get_peft_model_state_dict(model)
    problems = []
    unexpected = sorted(set(saved) - set(expected))
    missing = sorted(set(expected) - set(saved))
    if unexpected:
        problems.append(f"{len(unexpected)} saved tensors PEFT does not use, e.g. {unexpected[:4]}")
    if missing:
        problems.append(f"{len(missing)} tensors PEFT expects but the file lacks, e.g. {missing[:4]}")
    for name in sorted(set(saved) & set(expected)):
        a, b = saved[name], expected[name]
        if tuple(a.shape) != tuple(b.shape):
            problems.append(f"{name}: saved shape {tuple(a.shape)}, model shape {tuple(b.shape)}")
        elif a.dtype != b.dtype or not torch.equal(a, b.detach().cpu()):
            problems.append(f"{name}: loaded values differ from the saved ones ({a.dtype} -> {b.dtype})")
    return problems


def check_config(model, settings: dict, method: str) -> list[str]:
    """adapter_config.json (as PEFT read it) against the candidate's settings in results.json."""
    config = model.peft_config["default"]
    problems = []
    peft_type = getattr(config.peft_type, "value", config.peft_type)
    task_type = getattr(config.task_type, "value", config.task_type)
    if task_type != "CAUSAL_LM":
        problems.append(f"task_type {task_type}, expected CAUSAL_LM")
    if method in ("lora", "qlora"):
        if peft_type != "LORA":
            problems.append(f"peft_type {peft_type}, expected LORA")
        if "rank" in settings and int(settings["rank"]) != config.r:
            problems.append(f"r {config.r}, settings rank {settings['rank']}")
        if "alpha" in settings and float(settings["alpha"]) != float(config.lora_alpha):
            problems.append(f"lora_alpha {config.lora_alpha}, settings alpha {settings['alpha']}")
        if "target_modules" in settings:
            want = set(str(settings["target_modules"]).split(","))
            if set(config.target_modules) != want:
                problems.append(f"target_modules {sorted(config.target_modules)}, settings {sorted(want)}")
        if config.use_rslora or config.use_dora:
            problems.append("use_rslora / use_dora set")
    elif method == "prompt":
        if peft_type != "PROMPT_TUNING":
            problems.append(f"peft_type {peft_type}, expected PROMPT_TUNING")
        if "num_virtual_tokens" in settings and int(settings["num_virtual_tokens"]) != config.num_virtual_tokens:
            problems.append(f"num_virtual_tokens {config.num_virtual_tokens}, settings {settings['num_virtual_tokens']}")
    return problems


# ---------------------------------------------------------------------------------------------
# Full fine-tune: a Hugging Face Llama folder.

FULL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
# config fields that change the forward pass: a difference from the base model's is a problem.
FORWARD_CONFIG_FIELDS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                         "num_key_value_heads", "head_dim", "hidden_act", "rms_norm_eps", "rope_parameters",
                         "attention_bias", "mlp_bias", "tie_word_embeddings")
CHAT_CONVERSATIONS = (  # two 2-message conversations: a finished exchange, and a system + user awaiting a reply
    ([{"role": "user", "content": "Is this review positive or negative? A wonderful, moving film."},
      {"role": "assistant", "content": "Positive."}], False),
    ([{"role": "system", "content": "You label movie reviews."},
      {"role": "user", "content": "Review: dull and far too long.\nSentiment:"}], True),
)


class CapturedLogs:
    """Collects what transformers logs (WARNING and up) and what Python warns while loading, instead
    of printing it (or as well, with --verbose), so that the report can list it."""

    def __init__(self, verbose: bool):
        self.verbose, self.messages = verbose, []

    def __enter__(self):
        import transformers

        collector = self

        class Handler(logging.Handler):
            def emit(self, record):
                collector.messages.append(f"{record.name}: {record.getMessage()}")

        self.logger = transformers.utils.logging.get_logger("transformers")
        self.saved = (list(self.logger.handlers), self.logger.level)
        self.handler = Handler(logging.WARNING)
        if not self.verbose:
            self.logger.handlers = []
        self.logger.addHandler(self.handler)
        self.logger.setLevel(logging.WARNING)
        self.warnings = warnings.catch_warnings(record=True)
        self.caught = self.warnings.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self.warnings.__exit__(*exc)
        self.logger.removeHandler(self.handler)
        self.logger.handlers, level = self.saved
        self.logger.setLevel(level)
        for w in self.caught:
            self.messages.append(f"{w.category.__name__}: {w.message}")
        return False

    def lines(self) -> list[str]:
        import re

        out = []
        for message in self.messages:
            message = re.sub(r"\x1b\[[0-9;]*m", "", message).strip()
            if message and message not in out:
                out.append(message)
        return out


def load_full(directory: Path, base, verbose: bool):
    """The fully fine-tuned model as a user loads it: AutoModelForCausalLM.from_pretrained(dir, fp32,
    eager). Returns (model, problems, info, transformers' messages)."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM, LlamaConfig

    missing_files = [f for f in FULL_FILES if not (directory / f).exists()]
    if missing_files:
        raise FileNotFoundError(f"{directory}: no {', '.join(missing_files)}")
    problems, info = [], []
    raw = json.loads((directory / "config.json").read_text())
    with CapturedLogs(verbose) as logs:
        config = AutoConfig.from_pretrained(str(directory))
        model, loading = AutoModelForCausalLM.from_pretrained(str(directory), dtype=torch.float32, attn_implementation="eager",
                                                              output_loading_info=True)
    model.eval()
    # config.json
    if type(config) is not LlamaConfig:
        problems.append(f"config.json loads as {type(config).__name__}, expected LlamaConfig")
    if raw.get("tie_word_embeddings") is not True or config.tie_word_embeddings is not True:
        problems.append(f"tie_word_embeddings: config.json {raw.get('tie_word_embeddings', 'absent')}, "
                        f"loaded {config.tie_word_embeddings} (expected true)")
    if type(model).__name__ != "LlamaForCausalLM":
        problems.append(f"loads as {type(model).__name__}, expected LlamaForCausalLM")
    for field in FORWARD_CONFIG_FIELDS:
        mine, theirs = getattr(model.config, field, None), getattr(base.config, field, None)
        if mine != theirs:
            problems.append(f"config {field} {mine!r}, base model {theirs!r}")
    # Fields config.json leaves to LlamaConfig's defaults where those differ from the base model's.
    base_dict, loaded_dict = base.config.to_dict(), model.config.to_dict()
    skip = {"_name_or_path", "transformers_version", "dtype", "torch_dtype", "_attn_implementation_autoset", "name_or_path",
            "_model_name_or_path", "quantization_config"}  # the last two: GGUF-loading artefacts of the base config
    defaulted = [f"{k} (default {loaded_dict.get(k)!r}, base {base_dict[k]!r})" for k in sorted(base_dict)
                 if k not in raw and k not in skip and k not in FORWARD_CONFIG_FIELDS and loaded_dict.get(k) != base_dict[k]]
    if defaulted:
        info.append("config.json leaves to LlamaConfig defaults that differ from the base model's config: " + "; ".join(defaulted))
    # model.safetensors: transformers' own report, then every saved tensor against the loaded model.
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        entries = sorted(map(str, loading.get(kind) or []))
        if entries:
            problems.append(f"transformers {kind}: {len(entries)}, e.g. {entries[:4]}")
    saved = load_file(str(directory / "model.safetensors"))
    state = model.state_dict()
    tied = model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    if not tied:
        problems.append("lm_head.weight is not tied to model.embed_tokens.weight after loading")
    wanted = set(state) - ({"lm_head.weight"} if tied else set())
    unexpected, missing = sorted(set(saved) - set(state)), sorted(wanted - set(saved))
    if unexpected:
        problems.append(f"{len(unexpected)} tensors in model.safetensors the model does not use, e.g. {unexpected[:4]}")
    if missing:
        problems.append(f"{len(missing)} model tensors model.safetensors lacks, e.g. {missing[:4]}")
    if "lm_head.weight" in saved:
        info.append("model.safetensors holds lm_head.weight although the embeddings are tied")
    base_state = base.state_dict()
    changed, max_change = 0, 0.0
    for name in sorted(set(saved) & set(state)):
        a, b = saved[name], state[name].detach()
        if tuple(a.shape) != tuple(b.shape):
            problems.append(f"{name}: saved shape {tuple(a.shape)}, model shape {tuple(b.shape)}")
        elif a.dtype != torch.float32 or b.dtype != torch.float32 or not torch.equal(a, b):
            problems.append(f"{name}: loaded values differ from the saved ones ({a.dtype} -> {b.dtype})")
        elif name in base_state and tuple(base_state[name].shape) == tuple(a.shape) and not torch.equal(a, base_state[name]):
            changed += 1
            max_change = max(max_change, float((a - base_state[name]).abs().max()))
    info.append(f"model.safetensors: {len(saved)} tensors, all consumed, {changed} differ from the base model's "
                f"(max |Δw| {max_change:.2e})" if not (unexpected or missing) else f"model.safetensors: {len(saved)} tensors")
    return model, problems, info, logs.lines()


def load_base_tokenizer(model_path: Path):
    """transformers' tokenizer of the base model (for the GGUF, its conversion of the GGUF metadata)."""
    from transformers import AutoTokenizer

    if model_path.is_file():
        return AutoTokenizer.from_pretrained(str(model_path.parent), gguf_file=model_path.name)
    return AutoTokenizer.from_pretrained(str(model_path))


def chat_ids(tokenizer, conversation, generation_prompt: bool) -> list[int]:
    out = tokenizer.apply_chat_template(conversation, tokenize=True, add_generation_prompt=generation_prompt)
    if hasattr(out, "keys") and "input_ids" in out:
        out = out["input_ids"]
    if out and isinstance(out[0], list):
        out = out[0]
    return list(out)


def check_full_tokenizer(directory: Path, tokens: Tokens, texts: list[str], verbalizer_texts: list[str],
                         base_tokenizer, verbose: bool):
    """AutoTokenizer.from_pretrained(dir) against the reference tokenizer (every prompt and
    verbaliser, ids exactly), its special tokens against config.json, and the chat template of
    tokenizer_config.json against the base tokenizer's. Returns (problems, info, transformers' messages)."""
    from transformers import AutoTokenizer

    problems, info = [], []
    tokenizer_config = json.loads((directory / "tokenizer_config.json").read_text())
    with CapturedLogs(verbose) as logs:
        tok = AutoTokenizer.from_pretrained(str(directory))
    info.append(f"tokenizer: {type(tok).__name__}, {len(tok)} tokens, bos {tok.bos_token!r} eos {tok.eos_token!r} "
                f"pad {tok.pad_token!r} unk {tok.unk_token!r}")

    def mismatches(encode, label: str):
        bad = []
        for kind, strings in (("prompt", texts), ("verbaliser", verbalizer_texts)):
            for s in strings:
                want, got = tokens.encode(s), list(encode(s))
                if want != got:
                    at = next((j for j, (x, y) in enumerate(zip(want, got)) if x != y), min(len(want), len(got)))
                    bad.append(f"{kind} {s[:40]!r}…: at token {at} reference {want[at:at + 4]} "
                               f"{tokens.decode(want[at:at + 4])!r}, {label} {got[at:at + 4]} {tok.decode(got[at:at + 4])!r}")
        return bad

    total = len(texts) + len(verbalizer_texts)
    bad = mismatches(lambda s: tok(s, add_special_tokens=False)["input_ids"], "AutoTokenizer")
    if bad:
        problems.append(f"AutoTokenizer(dir) ids differ from the reference tokenizer's on {len(bad)}/{total} strings: "
                        + "; ".join(bad[:3]))
    else:
        info.append(f"AutoTokenizer(dir)(s, add_special_tokens=False) = reference ids on all {total} prompts and verbalisers")
    bad_default = mismatches(lambda s: tok(s)["input_ids"], "AutoTokenizer default call")
    if bad_default and not bad:
        problems.append(f"tok(s) (add_special_tokens default) adds tokens: differs on {len(bad_default)}/{total} strings: "
                        + "; ".join(bad_default[:2]))
    round_trip = sum(tok.decode(tokens.encode(s)) != s for s in texts + verbalizer_texts)
    if round_trip:
        info.append(f"WARN tok.decode(reference ids) != the text for {round_trip}/{total} strings")
    # special tokens: the tokenizer's ids against config.json's
    config = json.loads((directory / "config.json").read_text())
    for which in ("bos", "eos", "pad"):
        tid, cid = getattr(tok, f"{which}_token_id"), config.get(f"{which}_token_id")
        if cid is not None and tid != cid:
            problems.append(f"{which}_token_id: tokenizer {tid}, config.json {cid}")
    if base_tokenizer is not None:
        for which in ("bos_token", "eos_token", "pad_token", "unk_token"):
            if getattr(tok, which) != getattr(base_tokenizer, which):
                info.append(f"{'WARN ' if which != 'unk_token' else ''}{which}: {getattr(tok, which)!r}, "
                            f"base tokenizer {getattr(base_tokenizer, which)!r}")
    # chat template
    base_template = getattr(base_tokenizer, "chat_template", None) if base_tokenizer is not None else None
    saved_template = tokenizer_config.get("chat_template")
    if base_template and not saved_template:
        problems.append("tokenizer_config.json has no chat_template although the base model has one")
    elif saved_template:
        if tok.chat_template != saved_template:
            problems.append("AutoTokenizer's chat_template is not tokenizer_config.json's")
        if base_template is None:
            info.append("the base tokenizer has no chat template to compare with")
        else:
            same_source = saved_template == base_template
            for conversation, generation_prompt in CHAT_CONVERSATIONS:
                roles = "+".join(m["role"] for m in conversation) + (" +generation prompt" if generation_prompt else "")
                try:
                    mine = tok.apply_chat_template(conversation, tokenize=False, add_generation_prompt=generation_prompt)
                    theirs = base_tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=generation_prompt)
                except Exception as error:
                    problems.append(f"apply_chat_template ({roles}) failed: {type(error).__name__}: {error}")
                    continue
                if mine != theirs:
                    problems.append(f"apply_chat_template ({roles}) renders {mine!r}, the base tokenizer {theirs!r}")
                    continue
                ids = chat_ids(tok, conversation, generation_prompt)
                if ids != tokens.encode(mine):
                    problems.append(f"apply_chat_template ({roles}, tokenize=True) ids differ from the reference "
                                    f"tokenizer's encoding of the rendered text")
                info.append(f"chat template ({roles}): renders identically to the base tokenizer's "
                            f"({len(mine)} characters, {len(ids)} tokens{', same template text' if same_source else ', template text differs'})")
    return problems, info, logs.lines()


def use_bf16_4bit_kernel(model, enable: bool) -> int:
    """Switch bitsandbytes' AVX512-BF16 CPU eval path on or off in every Linear4bit; returns how many
    modules would use it (0 when the CPU has no such path)."""
    import bitsandbytes as bnb
    from bitsandbytes.functional import has_avx512bf16

    if not has_avx512bf16():
        return 0
    count = 0
    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = enable
            count += 1
    return count


# ---------------------------------------------------------------------------------------------
# Scoring, generation, comparison.

def encode_prompt(tokens, template: str, text: str, room: int) -> tuple[list[int], bool]:
    """PromptTemplate.encode (chat-free): the rendered prompt's ids, at most `room` of them. A prompt
    too long loses the first tokens of its text, the template staying whole; tokens at the cut can
    merge differently, so a few more are dropped until the whole fits; only when the template alone
    does not fit is the rendered prompt cut to its last `room` tokens."""
    render = lambda t: template.replace("{text}", t)  # noqa: E731
    ids = tokens.encode(render(text))
    if len(ids) <= room:
        return ids, False
    text_ids = tokens.encode(text)
    keep = len(text_ids) - (len(ids) - room)
    while keep > 0:
        shortened = tokens.encode(render(tokens.decode(text_ids[len(text_ids) - keep:])))
        if len(shortened) <= room:
            return shortened, True
        keep -= max(1, len(shortened) - room)
    return ids[len(ids) - room:], True


def prompt_ids(tokens: Tokens, template: str, texts: list[str], max_length: int, longest: int) -> tuple[list[list[int]], int]:
    out, cut = [], 0
    for text in texts:
        ids, was_cut = encode_prompt(tokens, template, text, max_length - longest)
        cut += was_cut
        out.append(ids)
    return out, cut


def verbalizer_texts_of(task: dict, labels: list[str], suite_path) -> list[str]:
    """task.verbalizers in label order: a mapping {label: continuation} (a label left out gets a space
    and its name, as the suite parser fills it), or a space and each label when absent."""
    given = task.get("verbalizers") or {}
    if not isinstance(given, dict):
        fail_input(f"{suite_path}: task.verbalizers must be a mapping from labels to continuations")
    unknown = [label for label in given if label not in labels]
    if unknown:
        fail_input(f"{suite_path}: task.verbalizers names {unknown}, which are not labels {labels}")
    return [given.get(label, " " + label) for label in labels]


def score(model, prompts: list[list[int]], verbalizers: list[list[int]], batch_size: int):
    """(N, K) class probabilities: softmax over the K verbaliser log-probabilities (float64).

    Single-token verbalisers: prompts sorted by length, right-padded batches (attention mask 0 on
    the pads, which come after every real token, so causal attention never sees them; positions
    stay 0..len-1, after the virtual tokens with prompt tuning), the row at each prompt's last real
    token. Longer verbalisers: one unpadded prompt + verbaliser per forward."""
    import numpy as np
    import torch

    single = all(len(v) == 1 for v in verbalizers)
    scores = [None] * len(prompts)
    with torch.no_grad():
        if single:
            targets = [v[0] for v in verbalizers]
            order = sorted(range(len(prompts)), key=lambda i: (len(prompts[i]), i))
            for start in range(0, len(order), batch_size):
                members = order[start:start + batch_size]
                T = max(len(prompts[i]) for i in members)
                ids = torch.zeros(len(members), T, dtype=torch.long)
                mask = torch.zeros(len(members), T, dtype=torch.long)
                for row, i in enumerate(members):
                    ids[row, :len(prompts[i])] = torch.tensor(prompts[i])
                    mask[row, :len(prompts[i])] = 1
                logits = model(input_ids=ids, attention_mask=mask).logits
                offset = logits.shape[1] - T  # virtual tokens come first
                for row, i in enumerate(members):
                    lp = torch.log_softmax(logits[row, offset + len(prompts[i]) - 1].double(), dim=-1)
                    scores[i] = [float(lp[t]) for t in targets]
        else:
            for i, ids in enumerate(prompts):
                scores[i] = []
                for v in verbalizers:
                    full = ids + v
                    logits = model(input_ids=torch.tensor([full]), attention_mask=torch.ones(1, len(full), dtype=torch.long)).logits
                    lp = torch.log_softmax(logits[0, -len(full):].double(), dim=-1)  # drop virtual-token rows
                    scores[i].append(sum(float(lp[len(ids) - 1 + j, t]) for j, t in enumerate(v)))
    out = []
    for s in scores:
        s = np.array(s, dtype=np.float64)
        w = np.exp(s - s.max())
        out.append(w / w.sum())
    return np.array(out)


def compare(expected: list[dict], probabilities) -> tuple[int, float, list[str]]:
    import numpy as np

    reference = np.array([p["probabilities"] for p in expected], dtype=np.float64)
    predicted = np.array([p["predicted"] for p in expected])
    ours = probabilities.argmax(axis=1)
    agree = int((ours == predicted).sum())
    delta = float(np.abs(reference - probabilities).max()) if len(expected) else 0.0
    flipped = [f"{p['id']} (evalharness {p['predicted']} {np.round(reference[i], 6).tolist()}, "
               f"here {int(ours[i])} {np.round(probabilities[i], 6).tolist()})"
               for i, p in enumerate(expected) if ours[i] != predicted[i]]
    return agree, delta, flipped


def generate(model, tokens: Tokens) -> list[str]:
    import torch

    out = []
    for text in GENERATION_PROMPTS:
        ids = tokens.encode(text)
        try:
            with torch.no_grad():
                gen = model.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                     do_sample=False, max_new_tokens=GENERATED_TOKENS, min_new_tokens=GENERATED_TOKENS,
                                     num_beams=1, repetition_penalty=1.0, temperature=None, top_p=None, top_k=None,
                                     pad_token_id=2, eos_token_id=2)
            new = gen[0, -GENERATED_TOKENS:].tolist()
            out.append(f"{text!r} -> {tokens.decode(new)!r}")
        except Exception as error:  # informational only
            out.append(f"{text!r} -> generate failed: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
    return out


def main(argv=None) -> int:
    started = time.time()
    args = parse_args(argv)
    if not args.verbose:
        logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    try:
        import yaml
        import torch
        import transformers
        import peft  # noqa: F401
        from peft import PeftModel
    except ImportError as error:
        fail_input(f"{error}; run with the project's venv: /work/venv/bin/python {sys.argv[0]} …")
    if not args.verbose:
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        logging.getLogger("peft").setLevel(logging.ERROR)
        logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
        warnings.simplefilter("ignore")
    torch.manual_seed(0)
    torch.set_num_threads(THREADS)

    results_path = Path(args.results)
    if not results_path.exists():
        fail_input(f"no such file {results_path}")
    results = json.loads(results_path.read_text())
    adapters = Path(args.adapters)
    model_path = resolve(args.model, REPO_ROOT)
    if not (model_path.is_file() or (model_path / "config.json").exists()):
        fail_input(f"{model_path}: neither a GGUF file nor a model folder")
    suite_arg = args.suite or (results.get("suite") or {}).get("path")
    if not suite_arg:
        fail_input("results.json has no suite.path; pass --suite")
    suite_path = resolve(suite_arg, REPO_ROOT)
    if not suite_path.exists():
        fail_input(f"no such suite {suite_arg}")
    suite = yaml.safe_load(suite_path.read_text())
    task = suite.get("task") or {}
    if task.get("chat"):
        fail_input(f"{suite_path}: task.chat is set; this script scores chat-free prompts only")
    max_length = int((suite.get("model") or {}).get("max_length", 128))
    labels = list(results["labels"])
    template = task.get("prompt") or "{text}\nAnswer:"
    verbalizer_texts = verbalizer_texts_of(task, labels, suite_path)

    candidates = results["candidates"]
    if args.candidates:
        known = {c["name"] for c in candidates}
        unknown = [n for n in args.candidates if n not in known]
        if unknown:
            fail_input(f"unknown candidates {unknown} (known: {sorted(known)})")
        candidates = [c for c in candidates if c["name"] in args.candidates]

    tokens = Tokens(model_path)
    verbalizers = [tokens.encode(v) for v in verbalizer_texts]
    if any(not v for v in verbalizers):
        fail_input(f"a verbaliser has no tokens: {verbalizer_texts}")
    longest = max(len(v) for v in verbalizers)
    print(f"tokenizer: {tokens.kind}; template {template!r}; verbalisers "
          + ", ".join(f"{t!r}={v}" for t, v in zip(verbalizer_texts, verbalizers)) + f"; max_length {max_length}")

    base = load_base(model_path)
    layers = base.config.num_hidden_layers
    print(f"base: {type(base).__name__} from {model_path.name}, {sum(p.numel() for p in base.parameters()):,} fp32 parameters "
          f"(loaded in {time.time() - started:.0f} s)")

    rows, failures, warnings_out = [], [], []
    examples_cache: dict[tuple, tuple] = {}
    base_tokenizer = None
    if any(c.get("method", c["name"]) == "full" for c in candidates):
        with CapturedLogs(args.verbose):
            base_tokenizer = load_base_tokenizer(model_path)
    for candidate in candidates:
        name, method = candidate["name"], candidate.get("method", candidate["name"])
        settings = candidate.get("settings") or {}
        predictions = candidate_predictions(candidate)
        directory = adapters / name
        t0 = time.time()
        if not predictions:
            failures.append(f"{name}: no predictions in results.json")
            rows.append((name, method, 0, 0, float("nan"), "no predictions"))
            continue
        ids = [str(p["id"]) for p in predictions]
        key = tuple(ids)
        if key not in examples_cache:
            examples = load_test_examples(suite, suite_path, ids)
            examples_cache[key] = prompt_ids(tokens, template, [e["text"] for e in examples], max_length, longest) + (examples,)
        prompts, cut, examples = examples_cache[key]
        for example, prediction in zip(examples, predictions):
            gold = example.get("label")
            if gold in labels and labels.index(gold) != prediction["label"]:
                fail_input(f"{name}: {example['id']} has label {gold!r} in the data but {prediction['label']} in results.json")

        gguf_blocks = method == "qlora" and str(settings.get("quantization", "nf4")).lower() == "gguf"
        double = truthy(settings.get("double_quantization", "false"))
        problems, bf16, info, messages = [], None, [], []
        try:
            if method == "base":
                model, loader = base, "base fp32 (no adapter)"
            elif method in ("lora", "prompt") or gguf_blocks:
                if not (directory / "adapter_model.safetensors").exists():
                    raise FileNotFoundError(f"{directory}/adapter_model.safetensors")
                model = PeftModel.from_pretrained(copy.deepcopy(base), str(directory))
                loader = ("PeftModel " + ("PROMPT_TUNING" if method == "prompt" else "LORA")
                          + (", fp32 base (GGUF Q4_1 = fp32)" if gguf_blocks else ", fp32 base"))
            elif method == "full":
                model, full_problems, info, messages = load_full(directory, base, args.verbose)
                problems += full_problems
                texts = [template.replace("{text}", e["text"]) for e in examples]
                tok_problems, tok_info, tok_messages = check_full_tokenizer(directory, tokens, texts, verbalizer_texts,
                                                                            base_tokenizer, args.verbose)
                problems += tok_problems
                info += tok_info
                messages += [m for m in tok_messages if m not in messages]
                loader = "AutoModelForCausalLM(dir) fp32, reference ids"
            elif method == "qlora":
                if not (directory / "adapter_model.safetensors").exists():
                    raise FileNotFoundError(f"{directory}/adapter_model.safetensors")
                quantized = copy.deepcopy(base)
                quantize_nf4(quantized, double)
                model = PeftModel.from_pretrained(quantized, str(directory))
                loader = f"PeftModel LORA, bnb NF4{'+DQ' if double else ''} base"
                problems += check_quantized_modules(model, layers, double)
            else:
                raise ValueError(f"unknown method {method!r}")
            model.eval()
            if method not in ("base", "full"):
                problems += check_peft_keys(model, directory)
                problems += check_config(model, settings, method)
            probabilities = score(model, prompts, verbalizers, args.batch_size)
            if method == "qlora" and not gguf_blocks and use_bf16_4bit_kernel(model, True):
                bf16 = score(model, prompts, verbalizers, args.batch_size)
                use_bf16_4bit_kernel(model, False)
            generations = [] if args.no_generate else generate(model, tokens)
        except Exception as error:  # a loader rejecting the files is a finding, not a crash
            message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            failures.append(f"{name}: failed to load or run: {message}")
            rows.append((name, method, len(predictions), 0, float("nan"), "load failed"))
            continue
        n = len(predictions)
        agree, delta, flipped = compare(predictions, probabilities)
        notes = list(problems)
        if agree < n:
            notes.append(f"{n - agree} labels differ: " + "; ".join(flipped[:4]))
        if not delta <= MAX_PROB_DELTA:
            notes.append(f"max |Δprob| {delta:.2e} > {MAX_PROB_DELTA:g}")
        if notes:
            failures.append(f"{name}: " + "; ".join(notes))
        rows.append((name, f"{method}: {loader}", n, agree, delta, "FAIL" if notes else "ok"))
        print(f"\n{name} ({loader}; {time.time() - t0:.1f} s){f'; {cut} prompt(s) cut to their last tokens' if cut else ''}")
        for line in info:
            if line.startswith("WARN "):
                warnings_out.append(f"{name}: {line[5:]}")
            print(f"  {line}")
        for message in messages:
            print("  transformers said: " + message.replace("\n", "\n    "))
        if messages:
            warnings_out.append(f"{name}: transformers printed {len(messages)} message(s) loading the folder (above)")
        for line in generations:
            print(f"  generate: {line}")
        if bf16 is not None:
            b_agree, b_delta, _ = compare(predictions, bf16)
            status = "ok" if n - b_agree <= MAX_BF16_DISAGREEMENT * n else "WARN"
            if status != "ok":
                warnings_out.append(f"{name}+bf16: {n - b_agree} labels differ with bitsandbytes' default AVX512-BF16 kernel")
            rows.append((f"{name}+bf16", f"{method}: same, bnb default bf16 CPU kernel", n, b_agree, b_delta, status))
        if model is not base:
            del model

    print()
    header = ("candidate", "method", "examples", "labels agree", "max |Δprob|", "status")
    table = [header] + [(r[0], r[1], str(r[2]), f"{r[3]}/{r[2]}", "-" if math.isnan(r[4]) else f"{r[4]:.2e}", r[5])
                        for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if any(row[0].endswith("+bf16") for row in rows):
        print("\n+bf16: informational, bitsandbytes' default AVX512-BF16 CPU kernel (bf16 block scales and compute).")
    for warning in warnings_out:
        print(f"WARN {warning}")
    print(f"\ntotal {time.time() - started:.0f} s")
    if failures:
        print()
        for failure in failures:
            print(f"FAIL {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
