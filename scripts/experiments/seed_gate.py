#!/usr/bin/env python3
"""Does the seed-aware gate tell a regression from seed noise? A/A and power on real training runs.

The units are single-seed runs of the default suite's candidates (`run_units.sh`, one
`evalharness compare --candidates C --seed S` each; a unit trained with --seed S is exactly the
first seed run of a suite whose seed is S). This script composes them into multi-seed
results.json files (schema 2, the seed runs side by side, as `compare` writes them) and lets the
real `evalharness gate` judge them with the default suite's `non_inferior_to: baseline` checks:

- A/A: PAIRS pairs of runs of the identical configuration with disjoint seed sets of N seeds each
  (drawn from the pool); a pair fails when any baseline check fails. Reports the count and the
  Clopper–Pearson 95 % interval of the false-fail rate.
- Power: a LoRA candidate trained on a copy of the data with a fraction of training labels
  flipped (`make_flipped.py`), whose true cost is the difference of the 16-seed means; RUNS runs
  of N flipped seeds gated against N clean seeds; detected = the gate fails.

Pairs drawn from one pool share seeds with other pairs, so they are not independent draws; the
interval treats them as if they were (it is the rate over these runs, not a population claim).

  seed_gate.py --pool /work/pool --suite suites/sentiment.yaml --evalharness .build/release/evalharness \
      [--flipped flip0.3] [--pairs 30] [--runs 30] [--grid]
"""
import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile


def load_unit(pool, group, candidate, seed):
    path = os.path.join(pool, group, f"{candidate}-s{seed}", "results.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        run = json.load(f)
    c = next(c for c in run["candidates"] if c["name"] == candidate)
    if c["status"] != "ok":
        return None
    if "seed_runs" in c:  # a schema-2 unit: its one seed run
        return run, c["seed_runs"][0]
    seed_run = {k: c.get(k) for k in ("training", "metrics", "report", "overfitting")}
    seed_run.update(seed=run["seed"], status="ok", forgetting=c.get("forgetting", []), predictions=c["predictions"])
    return run, {k: v for k, v in seed_run.items() if v is not None}


def pool_seeds(pool, group, candidate):
    out = {}
    folder = os.path.join(pool, group)
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        m = re.fullmatch(re.escape(candidate) + r"-s(\d+)", name)
        if m:
            unit = load_unit(pool, group, candidate, int(m.group(1)))
            if unit:
                out[int(m.group(1))] = unit
    return dict(sorted(out.items()))


def compose(units_by_candidate):
    """A schema-2 results.json from {candidate: [(run, seed_run), …]}."""
    template = next(iter(units_by_candidate.values()))[0][0]
    candidates = []
    for name, units in units_by_candidate.items():
        source = next(c for c in units[0][0]["candidates"] if c["name"] == name)
        candidate = {
            "name": name, "method": source["method"], "status": "ok", "settings": source["settings"],
            "config_hash": source["config_hash"], "trainable_parameters": source["trainable_parameters"],
            "base_weight_bytes": source["base_weight_bytes"], "forgetting": [], "comparisons": [],
            "seed_runs": [seed_run for _, seed_run in units],
        }
        if "report" in units[0][1]:  # a classification run's per-class report
            candidate["report"] = units[0][1]["report"]
        candidates.append(candidate)
    # The run's own fields (suite, model, data, environment, labels or task type, …) from the first unit.
    run = {k: v for k, v in template.items() if k not in ("candidates", "checks", "duration_s", "schema_version")}
    return {**run, "schema_version": 2, "duration_s": 0, "candidates": candidates, "checks": []}


def baseline_checks_suite(suite_path, out_path):
    """The suite with only its `non_inferior_to: baseline` checks (what this experiment gates)."""
    lines = open(suite_path).read().split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("checks:"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith((" ", "#"))), len(lines))
    kept = [l for l in lines[start + 1:end] if "non_inferior_to: baseline" in l]
    if not kept:
        sys.exit(f"{suite_path}: no non_inferior_to: baseline checks to test")
    text = "\n".join(lines[:start] + ["checks:"] + kept + lines[end:])
    text = re.sub(r"(?m)^calibration:.*$", "", text)  # warnings are not what is measured here
    open(out_path, "w").write(text)
    return [re.search(r"candidates: \[([^\]]*)\]", l).group(1).replace(" ", "").split(",")
            if "candidates:" in l else None for l in kept]


def gate(evalharness, suite, run, baseline, workdir, tag):
    a, b = os.path.join(workdir, tag + "-run.json"), os.path.join(workdir, tag + "-baseline.json")
    json.dump(run, open(a, "w"))
    json.dump(baseline, open(b, "w"))
    p = subprocess.run([evalharness, "gate", a, "--suite", suite, "--baseline", b], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.exit(f"gate exited {p.returncode}: {p.stderr}{p.stdout}")
    failed = [l for l in p.stdout.splitlines() if l.startswith("FAILED")]
    return p.returncode, failed, p.stdout


def clopper_pearson(k, n, level=0.95):
    """Exact binomial interval: lower end p with P(X ≥ k | p) = α/2, upper end p with P(X ≤ k | p) = α/2."""
    alpha = 1 - level

    def cdf(x, p):  # P(X ≤ x)
        return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(x + 1))

    def bisect(f, target, increasing):
        lo, hi = 0.0, 1.0
        for _ in range(100):
            mid = (lo + hi) / 2
            if (f(mid) < target) == increasing:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2
    low = 0.0 if k == 0 else bisect(lambda p: 1 - cdf(k - 1, p), alpha / 2, increasing=True)
    high = 1.0 if k == n else bisect(lambda p: cdf(k, p), alpha / 2, increasing=False)
    return low, high


def suite_seeds(suite_path, candidates):
    """Seeds per candidate as the suite sets them: the candidate's own `seeds:`, else `training.seeds`, else 1."""
    text = open(suite_path).read()
    training = re.search(r"(?ms)^training:\n(.*?)^\S", text)
    default = int(m.group(1)) if training and (m := re.search(r"(?m)^\s+seeds:\s*(\d+)", training.group(1))) else 1
    out = {}
    for c in candidates:
        entry = re.search(r"(?m)^\s*- \{name: " + re.escape(c) + r",[^}]*\}", text)  # a flow mapping, maybe over lines
        own = re.search(r"seeds:\s*(\d+)", entry.group(0)) if entry else None
        out[c] = int(own.group(1)) if own else default
    return out


def mean(xs):
    return sum(xs) / len(xs)


def sd(xs):
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0


def accuracy(seed_run):
    """Test accuracy of a classification seed run; mean token F1 of a generation one."""
    if seed_run.get("generations"):
        g = seed_run["generations"]
        return sum(r["token_f1"] for r in g) / len(g)
    p = seed_run["predictions"]
    return sum(r["predicted"] == r["label"] for r in p) / len(p)


def grid(args, pools, workdir, rng):
    """A/A false-fail rate (and, with --flipped, power) of a LoRA baseline check for several seed
    counts and margins: what a 1-seed gate did before, and what seeds buy."""
    counts = [int(x) for x in args.grid_seeds.split(",")]
    margins = [float(x) for x in args.grid_margins.split(",")]
    clean = pools["lora"]
    flipped = pool_seeds(args.pool, args.flipped, "lora") if args.flipped else {}
    text = open(args.suite).read()
    first = re.search(r"\{metric: ([\w.]+), non_inferior_to: baseline, margin: [0-9.]+", text)
    if not first:
        sys.exit(f"{args.suite}: no baseline check with a margin for the grid")
    metric = first.group(1)
    suite_lines = text.split("\n")
    first_line = next(l for l in suite_lines if first.group(0) in l)

    def is_baseline_check(line):
        return "non_inferior_to: baseline" in line and not line.lstrip().startswith("#")

    print(f"## Grid: LoRA `{metric}` `non_inferior_to: baseline` check alone, {args.grid_pairs} runs per cell")
    print()
    print("| seeds per run | margin | A/A false-fail | power vs the flipped-label LoRA |")
    print("|---|---|---|---|")
    for n in counts:
        for margin in margins:
            suite = os.path.join(workdir, f"grid-{n}-{margin}.yaml")
            # The suite's first baseline check alone, with this margin.
            lines = [re.sub(r"margin: [0-9.]+", f"margin: {margin:g}", l, count=1) if l == first_line else l
                     for l in suite_lines if l == first_line or not is_baseline_check(l)]
            baseline_checks_suite_text("\n".join(lines), suite)
            fails = detected = 0
            for k in range(args.grid_pairs):
                seeds = rng.sample(list(clean.keys()), 2 * n)
                run, base = compose({"lora": [clean[s] for s in seeds[:n]]}), compose({"lora": [clean[s] for s in seeds[n:]]})
                fails += gate(args.evalharness, suite, run, base, workdir, "g")[0] == 1
                if flipped:
                    pr = compose({"lora": [flipped[s] for s in rng.sample(list(flipped.keys()), n)]})
                    bl = compose({"lora": [clean[s] for s in rng.sample(list(clean.keys()), n)]})
                    detected += gate(args.evalharness, suite, pr, bl, workdir, "g")[0] == 1
            power = f"{detected}/{args.grid_pairs} ({detected / args.grid_pairs:.2f})" if flipped else "—"
            print(f"| {n} | {margin:g} | {fails}/{args.grid_pairs} ({fails / args.grid_pairs:.2f}) | {power} |")
    print()


def baseline_checks_suite_text(text, out_path):
    source = out_path + ".source.yaml"
    open(source, "w").write(text)
    baseline_checks_suite(source, out_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pool", required=True)
    ap.add_argument("--suite", default="suites/sentiment.yaml")
    ap.add_argument("--evalharness", default=".build/release/evalharness")
    ap.add_argument("--clean", default="clean", help="pool folder of the unchanged configuration")
    ap.add_argument("--flipped", help="pool folder of the regressed LoRA (labels flipped)")
    ap.add_argument("--seeds", help="seeds per run, e.g. full=3,lora=5 (default: as the suite sets them)")
    ap.add_argument("--pairs", type=int, default=30)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--random-seed", type=int, default=1)
    ap.add_argument("--grid", action="store_true", help="also the LoRA check over seed counts × margins")
    ap.add_argument("--grid-seeds", default="1,3,5")
    ap.add_argument("--grid-margins", default="0.01,0.02,0.04")
    ap.add_argument("--grid-pairs", type=int, default=30)
    args = ap.parse_args()

    workdir = tempfile.mkdtemp(prefix="seed_gate.")
    suite = os.path.join(workdir, "baseline-checks.yaml")
    scopes = baseline_checks_suite(args.suite, suite)
    gated = sorted({c for scope in scopes for c in (scope or ["full", "lora", "qlora", "prompt"])})
    seeds_per_run = suite_seeds(args.suite, gated)
    if args.seeds:
        seeds_per_run.update({k: int(v) for k, v in (item.split("=") for item in args.seeds.split(","))})
    pools = {c: pool_seeds(args.pool, args.clean, c) for c in gated}
    rng = random.Random(args.random_seed)

    print(f"# Seed-aware gate on real runs — {args.suite}, seeds per run "
          + ", ".join(f"{c} {k}" for c, k in seeds_per_run.items()) + "; checks: "
          + "; ".join(l.strip() for l in open(suite).read().split("\n") if "non_inferior_to: baseline" in l))
    print()
    print("## Pool (one unit = one single-seed training run of the candidate, on the suite's set-up)")
    print()
    headline = "token F1" if any(u[1].get("generations") for units in pools.values() for u in units.values()) else "accuracy"
    print(f"| candidate | seeds | test {headline} mean | seed sd | min – max |")
    print("|---|---|---|---|---|")
    for c, units in pools.items():
        accs = [accuracy(u[1]) for u in units.values()]
        print(f"| {c} | {len(accs)} | {mean(accs):.4f} | {sd(accs):.4f} | {min(accs):.3f} – {max(accs):.3f} |")
    print()

    for c in gated:
        if len(pools[c]) < 2 * seeds_per_run[c]:
            sys.exit(f"need at least {2 * seeds_per_run[c]} seeds of {c} for disjoint pairs; have {len(pools[c])}")

    # A/A: per candidate, two disjoint sets of its seed count drawn from its pool.
    fails, per_check = 0, {}
    for k in range(args.pairs):
        seeds = {c: rng.sample(list(pools[c].keys()), 2 * seeds_per_run[c]) for c in gated}
        run = compose({c: [pools[c][s] for s in seeds[c][:seeds_per_run[c]]] for c in gated})
        base = compose({c: [pools[c][s] for s in seeds[c][seeds_per_run[c]:]] for c in gated})
        code, failed, _ = gate(args.evalharness, suite, run, base, workdir, f"aa{k}")
        fails += code == 1
        for line in failed:
            per_check[line] = per_check.get(line, 0) + 1
    low, high = clopper_pearson(fails, args.pairs)
    print(f"## A/A: {args.pairs} pairs of identical configurations, disjoint seed sets")
    print()
    print("| pairs | gate failed | false-fail rate | Clopper–Pearson 95 % |")
    print("|---|---|---|---|")
    print(f"| {args.pairs} | {fails} | {fails / args.pairs:.3f} | {low:.3f} – {high:.3f} |")
    for line, count in sorted(per_check.items(), key=lambda kv: -kv[1])[:5]:
        print(f"\n- {count}×: `{line[:200]}`")
    print()

    if args.flipped:
        flipped = pool_seeds(args.pool, args.flipped, "lora")
        clean = pools.get("lora") or pool_seeds(args.pool, args.clean, "lora")
        true_size = mean([accuracy(u[1]) for u in clean.values()]) - mean([accuracy(u[1]) for u in flipped.values()])
        print(f"## Power: LoRA trained with flipped labels ({args.flipped}), {len(flipped)} seeds; "
              f"clean LoRA {len(clean)} seeds")
        print()
        print(f"True regression (difference of the means): {true_size:.4f} accuracy "
              f"(flipped mean {mean([accuracy(u[1]) for u in flipped.values()]):.4f}, "
              f"sd {sd([accuracy(u[1]) for u in flipped.values()]):.4f})")
        print()
        detected = 0
        n = seeds_per_run.get("lora", 1)
        for k in range(args.runs):
            pr = rng.sample(list(flipped.keys()), n)
            bl = rng.sample(list(clean.keys()), n)
            run = compose({"lora": [flipped[s] for s in pr]})
            base = compose({"lora": [clean[s] for s in bl]})
            code, failed, _ = gate(args.evalharness, suite, run, base, workdir, f"pw{k}")
            detected += any(l.startswith("FAILED  lora") for l in failed)
        low, high = clopper_pearson(detected, args.runs)
        print("| runs | detected (gate failed) | power | Clopper–Pearson 95 % |")
        print("|---|---|---|---|")
        print(f"| {args.runs} | {detected} | {detected / args.runs:.3f} | {low:.3f} – {high:.3f} |")
        print()

    if args.grid:
        grid(args, pools, workdir, rng)

    # All pooled seeds as one results.json, for `evalharness calibrate --from`.
    everything = compose({c: list(pools[c].values()) for c in gated})
    path = os.path.join(workdir, "pool-results.json")
    json.dump(everything, open(path, "w"))
    print(f"(all pooled seeds as one results.json: {path})")


if __name__ == "__main__":
    main()
