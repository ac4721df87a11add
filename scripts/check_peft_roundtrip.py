#!/usr/bin/env python3
"""Check that the adapters evalharness saves load in Hugging Face tools and predict what evalharness predicted.

Needs the project's Python environment (torch, transformers, peft, bitsandbytes, PyYAML), i.e. run it
with /work/venv/bin/python (or after `source /work/venv/bin/activate`), from the repository root:

    .build/release/evalharness compare suites/ci.yaml --out /tmp/ci-out
    /work/venv/bin/python scripts/check_peft_roundtrip.py \\
        --results /tmp/ci-out/results.json --adapters /tmp/ci-out/adapters \\
        --model models/all-MiniLM-L6-v2 [--suite suites/ci.yaml] [--candidates full lora ...]

For every candidate it loads `adapters/<candidate>/` the way a user would:
  - full fine-tuning:  AutoModelForSequenceClassification.from_pretrained(dir)
  - LoRA / prompt:     PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(BASE, num_labels=K), dir)
  - QLoRA:             the same with the base loaded in 4-bit NF4 (bitsandbytes; double quantisation as the
                       candidate's `double_quantization` setting; pooler and classifier left in fp32),
then predicts the suite's test examples (those whose ids appear in results.json) in eval mode, tokenised
with the model's tokenizer (truncation=True, max_length = the suite's model.max_length), and compares
with evalharness's `predicted` and `probabilities`.

It also checks that every tensor of the saved file is consumed by the loader (no unexpected or
missing keys, no mismatched shapes, values as saved), because PEFT and transformers only warn
about those, and, for QLoRA, that exactly the encoder's linear layers were quantised.

QLoRA gets a second, diagnostic row (`qlora*`): on CPUs with AVX512-BF16, bitsandbytes 0.50.2's
default eval path repacks the 4-bit weight with bf16 block scales and computes in bf16, so the
default row can only be held to "labels agree within 1 %". The diagnostic row runs the same model
with Linear4bit forced onto its dequantise-to-fp32 + torch matmul path, which isolates whether
evalharness's NF4 base is the one bitsandbytes builds (then max |Δprob| is ~1e-7). It warns when it
is not; --strict-qlora turns that warning into a failure.

Exit status: 0 when every candidate agrees; 1 when a candidate disagrees (any predicted label for
full/lora/prompt, more than 1 % of labels for qlora, max |Δprob| > 1e-4 for full/lora/prompt) or
fails to load; 2 for bad arguments / inputs.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Tolerances (see module docstring).
MAX_PROB_DELTA = 1e-4          # full / lora / prompt
MAX_QLORA_DISAGREEMENT = 0.01  # fraction of test examples


def fail_input(message: str) -> "NoReturn":  # noqa: F821
    print(f"check_peft_roundtrip: {message}", file=sys.stderr)
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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", required=True, help="results.json written by `evalharness compare`")
    parser.add_argument("--adapters", required=True, help="the run's adapters/ folder (one subfolder per candidate)")
    parser.add_argument("--model", required=True, help="the base model folder (e.g. models/all-MiniLM-L6-v2)")
    parser.add_argument("--suite", help="the suite YAML (default: results.json suite.path)")
    parser.add_argument("--candidates", nargs="+", help="candidate names to check (default: all in results.json)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--strict-qlora", action="store_true",
                        help="also fail when QLoRA, run with bitsandbytes' fp32 dequantise-then-matmul path "
                             "(the diagnostic row), differs from evalharness by more than the fp32 tolerances")
    parser.add_argument("--verbose", action="store_true", help="show transformers / peft warnings")
    return parser.parse_args(argv)


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
        for number, line in enumerate(handle, 1):
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
# Loading, the way a user would.

def adapter_tensor_names(directory: Path, filename: str) -> dict:
    from safetensors.torch import load_file
    return load_file(str(directory / filename))


def check_peft_keys(model, saved: dict) -> list[str]:
    """Problems with the saved PEFT tensors: names PEFT does not use, names it expected but did not
    find, shapes or values that did not land in the model."""
    from peft.utils import get_peft_model_state_dict
    import torch

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
        elif not torch.equal(a.to(b.dtype).cpu(), b.detach().cpu()):
            problems.append(f"{name}: loaded values differ from the saved ones")
    return problems


def load_full(directory: Path, labels: list[str]):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model, info = AutoModelForSequenceClassification.from_pretrained(str(directory), output_loading_info=True)
    problems = []
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        items = list(info.get(kind) or [])
        if items:
            problems.append(f"{kind}: {items[:4]}{' …' if len(items) > 4 else ''}")
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    if [id2label.get(i) for i in range(len(labels))] != labels:
        problems.append(f"config id2label {model.config.id2label} does not match the suite's labels {labels}")
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    return model, tokenizer, "AutoModelForSequenceClassification", problems


def load_peft(directory: Path, base: Path, labels: list[str], quantize: dict | None):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    kwargs = dict(num_labels=len(labels))
    loader = "PeftModel"
    if quantize is not None:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=quantize["double_quant"],
            bnb_4bit_compute_dtype=torch.float32,
            # transformers 5 matches a skip entry as a prefix of the full module name or as its
            # suffix: "pooler" alone matches neither "bert.pooler.dense" nor anything else, and the
            # pooler would silently be quantised. "pooler.dense" (suffix) keeps it in fp32.
            llm_int8_skip_modules=["classifier", "pooler", "pooler.dense"],
        )
        kwargs["dtype"] = torch.float32
        loader = f"PeftModel, base 4-bit nf4{' dq' if quantize['double_quant'] else ''}"
    base_model = AutoModelForSequenceClassification.from_pretrained(str(base), **kwargs)
    model = PeftModel.from_pretrained(base_model, str(directory))
    config = model.peft_config["default"]
    loader += f" ({config.peft_type.value if hasattr(config.peft_type, 'value') else config.peft_type})"
    saved = adapter_tensor_names(directory, "adapter_model.safetensors")
    problems = check_peft_keys(model, saved)
    if quantize is not None:
        problems += check_quantized_modules(model)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    return model, tokenizer, loader, problems


def check_quantized_modules(model) -> list[str]:
    """evalharness quantises exactly the encoder's linear weights (query, key, value,
    attention.output.dense, intermediate.dense, output.dense in every layer), not the pooler, the
    classifier or the embeddings: the loaded base must be quantised the same way."""
    import bitsandbytes as bnb
    import torch

    quantized, plain = [], []
    for name, module in model.named_modules():
        if isinstance(module, bnb.nn.Linear4bit):
            quantized.append(name)
        elif isinstance(module, torch.nn.Linear) and "lora_" not in name and "modules_to_save" not in name \
                and "original_module" not in name:
            plain.append(name)
    problems = []
    wrong = [n for n in quantized if ".encoder.layer." not in n]
    if wrong:
        problems.append(f"quantised outside the encoder: {wrong[:4]}")
    unquantized = [n for n in plain if ".encoder.layer." in n]
    if unquantized:
        problems.append(f"encoder linear layers left in full precision: {unquantized[:4]}")
    return problems


# ---------------------------------------------------------------------------------------------
# Prediction and comparison.

def use_fp32_4bit_kernel(model, enable: bool) -> int:
    """Make bitsandbytes' Linear4bit dequantise to fp32 and use torch's matmul, instead of its CPU
    fast path: on CPUs with AVX512-BF16, bitsandbytes 0.50.2 repacks the weight on the first eval
    forward with the block absmax rounded to bfloat16 (`_convert_weight_packed_for_cpu`) and computes
    in bf16, which moves probabilities by ~1e-4 and can flip near-tie labels. Returns how many
    modules were switched (0 when the CPU has no such path). `enable=False` switches them back."""
    import bitsandbytes as bnb

    switched = 0
    for module in model.modules():
        if not isinstance(module, bnb.nn.Linear4bit):
            continue
        if enable and getattr(module, "support_avx512bf16_for_cpu", False):
            module.support_avx512bf16_for_cpu = False
            module._check_peft_switched = True
            switched += 1
        elif not enable and getattr(module, "_check_peft_switched", False):
            module.support_avx512bf16_for_cpu = True
            del module._check_peft_switched
            switched += 1
    return switched


def predict(model, tokenizer, texts: list[str], max_length: int, batch_size: int):
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], truncation=True, max_length=max_length,
                              padding=True, return_tensors="pt")
            logits = model(**batch).logits.float()
            out.append(torch.softmax(logits, dim=-1))
    return torch.cat(out).cpu().numpy()


def compare(expected: list[dict], probabilities) -> tuple[int, float]:
    import numpy as np

    reference = np.array([p["probabilities"] for p in expected], dtype=np.float64)
    predicted = np.array([p["predicted"] for p in expected])
    ours = probabilities.argmax(axis=1)
    agree = int((ours == predicted).sum())
    delta = float(np.abs(reference - probabilities.astype(np.float64)).max()) if len(expected) else 0.0
    return agree, delta


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.verbose:
        # Before importing bitsandbytes: on AVX512-BF16 CPUs it logs a warning about an optional
        # `kernels` package at import time.
        logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    try:
        import yaml
        import torch  # noqa: F401
        import transformers
        import peft  # noqa: F401
    except ImportError as error:
        fail_input(f"{error}; run with the project's venv: /work/venv/bin/python {sys.argv[0]} …")
    if not args.verbose:
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        logging.getLogger("peft").setLevel(logging.ERROR)
        logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
        warnings.simplefilter("ignore")
    torch.manual_seed(0)

    results_path = Path(args.results)
    if not results_path.exists():
        fail_input(f"no such file {results_path}")
    results = json.loads(results_path.read_text())
    adapters = Path(args.adapters)
    base = resolve(args.model, REPO_ROOT)
    if not (base / "config.json").exists():
        fail_input(f"{base}: not a model folder (no config.json)")
    suite_arg = args.suite or (results.get("suite") or {}).get("path")
    if not suite_arg:
        fail_input("results.json has no suite.path; pass --suite")
    suite_path = resolve(suite_arg, REPO_ROOT)
    if not suite_path.exists():
        fail_input(f"no such suite {suite_arg}")
    suite = yaml.safe_load(suite_path.read_text())
    max_length = int((suite.get("model") or {}).get("max_length", 128))
    labels = list(results["labels"])

    candidates = results["candidates"]
    if args.candidates:
        known = {c["name"] for c in candidates}
        unknown = [n for n in args.candidates if n not in known]
        if unknown:
            fail_input(f"unknown candidates {unknown} (known: {sorted(known)})")
        candidates = [c for c in candidates if c["name"] in args.candidates]

    rows, failures, warnings_out = [], [], []
    examples_cache: dict[tuple, list[dict]] = {}
    for candidate in candidates:
        name, method = candidate["name"], candidate.get("method", candidate["name"])
        # results.json keeps each seed's predictions; the adapter saved is the first seed's.
        predictions = candidate.get("predictions") or ((candidate.get("seed_runs") or [{}])[0].get("predictions")) or []
        directory = adapters / name
        if not predictions:
            failures.append(f"{name}: no predictions in results.json")
            rows.append((name, "-", 0, float("nan"), float("nan"), "no predictions"))
            continue
        ids = [str(p["id"]) for p in predictions]
        key = tuple(ids)
        if key not in examples_cache:
            examples_cache[key] = load_test_examples(suite, suite_path, ids)
        examples = examples_cache[key]
        for example, prediction in zip(examples, predictions):
            gold = example.get("label")
            if gold in labels and labels.index(gold) != prediction["label"]:
                fail_input(f"{name}: {example['id']} has label {gold!r} in the data but {prediction['label']} in results.json")
        texts = [example["text"] for example in examples]
        try:
            if method == "full":
                model, tokenizer, loader, problems = load_full(directory, labels)
            elif method in ("lora", "prompt"):
                model, tokenizer, loader, problems = load_peft(directory, base, labels, None)
            elif method == "qlora":
                double = str((candidate.get("settings") or {}).get("double_quantization", "true")).lower() in ("true", "yes", "on", "1")
                model, tokenizer, loader, problems = load_peft(directory, base, labels, {"double_quant": double})
            else:
                raise ValueError(f"unknown method {method!r}")
            diagnostic = None
            if method == "qlora" and use_fp32_4bit_kernel(model, True):
                # Diagnostic first (the bf16 fast path repacks the weights on its first forward).
                diagnostic = predict(model, tokenizer, texts, max_length, args.batch_size)
                use_fp32_4bit_kernel(model, False)
            probabilities = predict(model, tokenizer, texts, max_length, args.batch_size)
        except Exception as error:  # a loader rejecting the files is a finding, not a crash
            message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            failures.append(f"{name}: failed to load or run: {message}")
            rows.append((name, "-", len(predictions), float("nan"), float("nan"), "load failed"))
            continue
        n = len(predictions)
        agree, delta = compare(predictions, probabilities)
        notes = list(problems)
        disagree = n - agree
        if method == "qlora":
            if disagree > MAX_QLORA_DISAGREEMENT * n:
                notes.append(f"{disagree} labels differ (> 1 %)")
        else:
            if disagree > 0:
                notes.append(f"{disagree} labels differ")
            if not delta <= MAX_PROB_DELTA:
                notes.append(f"max |Δprob| {delta:.2e} > {MAX_PROB_DELTA:g}")
        if notes:
            failures.append(f"{name}: " + "; ".join(notes))
        rows.append((name, loader, n, 100.0 * agree / n, delta, "FAIL" if notes else "ok"))
        if diagnostic is not None:
            # Same model, bitsandbytes' exact path: the only differences left are fp32 summation
            # order, so this isolates the 4-bit base evalharness used from kernel rounding.
            d_agree, d_delta = compare(predictions, diagnostic)
            exact = d_agree == n and d_delta <= MAX_PROB_DELTA
            status = "ok" if exact else ("FAIL" if args.strict_qlora else "WARN")
            if not exact:
                message = (f"{name} [fp32 4-bit kernel]: {n - d_agree} labels differ, max |Δprob| {d_delta:.2e} "
                           f"(> {MAX_PROB_DELTA:g}): evalharness's NF4 base is not the one bitsandbytes builds")
                (failures if args.strict_qlora else warnings_out).append(message)
            rows.append((f"{name}*", loader.replace("PeftModel,", "PeftModel, fp32 kernel,"), n,
                         100.0 * d_agree / n, d_delta, status))
        del model

    header = ("candidate", "loader", "examples", "agree %", "max |Δprob|", "status")
    table = [header] + [(r[0], r[1], str(r[2]), "-" if math.isnan(r[3]) else f"{r[3]:.2f}",
                         "-" if math.isnan(r[4]) else f"{r[4]:.2e}", r[5]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if any(row[0].endswith("*") for row in rows):
        print("\n* diagnostic: the same QLoRA model with bitsandbytes' Linear4bit forced to dequantise to fp32 and")
        print("  use torch's matmul (the row above it is the default path, on AVX512-BF16 CPUs a bf16 kernel).")
    for warning in warnings_out:
        print(f"WARN {warning}")
    if failures:
        print()
        for failure in failures:
            print(f"FAIL {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
