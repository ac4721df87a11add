#!/usr/bin/env bash
# Proves the README's sharding recipes locally: runs the commands each recipe runs — N shard
# processes in separate folders, each finding its shard the way its scheduler says (GitHub Actions
# matrix: --shard I/N; GitLab parallel: CI_NODE_INDEX/CI_NODE_TOTAL, 1-based; Kubernetes Indexed
# Job: JOB_COMPLETION_INDEX, 0-based), then `merge` — and checks that each merged results.json
# equals one unsharded `compare` of the same suite (times, throughput and memory aside), and that
# the merge of all but one shard exits 3. The merges append to one run history (--history), as
# the recipes' merge jobs do, and the history must then hold the three merged runs.
#
# Usage: scripts/check_shard_recipes.sh [SUITE] [N]     (default: suites/ci.yaml 4)
# Needs a release build (.build/release/evalharness), the model and the data. Exit 0 when every
# recipe matched; 1 otherwise. Work folder: $TMPDIR/evalharness-recipes (removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-suites/ci.yaml}
shards=${2:-4}
tool=.build/release/evalharness
[ -x "$tool" ] || { echo "error: build first: swift build -c release" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/evalharness-recipes.XXXXXX")
trap 'rm -rf "$work"' EXIT
threads=2
common=(--threads "$threads" --no-cache --quiet)

echo "== unsharded compare"
"$tool" compare "$suite" --out "$work/whole" "${common[@]}" || [ $? -eq 1 ]

same() {  # same RESULTS_A RESULTS_B: equal but for timings
  python3 - "$1" "$2" <<'PY'
import json, sys
def strip(path):
    r = json.load(open(path))
    for k in ("started_at", "duration_s"): r.pop(k, None)
    for c in r["candidates"]:
        c.pop("cached_seeds", None)
        for t in [c.get("training")] + [s.get("training") for s in c["seed_runs"]]:
            if t:
                for k in ("seconds", "examples_per_s", "peak_rss_bytes"): t.pop(k, None)
    r["checks"] = [c for c in r["checks"] if not c["metric"].startswith("training.")]
    return r
sys.exit(0 if strip(sys.argv[1]) == strip(sys.argv[2]) else 1)
PY
}

status=0
for recipe in github gitlab kubernetes; do
  echo "== $recipe: $shards shard processes, then merge"
  pids=()
  for ((i = 1; i <= shards; i++)); do
    out="$work/$recipe/shard-$i"
    case $recipe in
      github)     "$tool" compare "$suite" --shard "$i/$shards" --out "$out" "${common[@]}" & ;;
      gitlab)     CI_NODE_INDEX=$i CI_NODE_TOTAL=$shards "$tool" compare "$suite" --shard auto --out "$out" "${common[@]}" & ;;
      kubernetes) JOB_COMPLETION_INDEX=$((i - 1)) "$tool" compare "$suite" --shard "auto/$shards" --out "$out" "${common[@]}" & ;;
    esac
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  "$tool" merge "$work/$recipe"/shard-* --suite "$suite" --out "$work/$recipe/merged" --history "$work/runs.sqlite" --quiet || [ $? -eq 1 ]
  if same "$work/whole/results.json" "$work/$recipe/merged/results.json"; then
    echo "   merged = unsharded"
  else
    echo "   MISMATCH: merged results differ from the unsharded run"; status=1
  fi
done

echo "== the history of the merged runs"
runs=$("$tool" history --history "$work/runs.sqlite" --metric accuracy --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runs"]))')
if [ "$runs" -eq 3 ]; then echo "   3 merged runs in the history"; else echo "   expected 3 runs in the history, found $runs"; status=1; fi

echo "== a shard missing"
set +e
"$tool" merge "$work/github"/shard-[1-$((shards - 1))] --suite "$suite" --out "$work/incomplete" --quiet 2>"$work/incomplete.err"
code=$?
set -e
if [ $code -eq 3 ]; then echo "   exit 3: $(cat "$work/incomplete.err")"; else echo "   expected exit 3, got $code"; status=1; fi
exit $status
