#!/usr/bin/env bash
# Trains single-seed units of a suite (candidate × seed) with a frozen copy of the evalharness binary,
# JOBS processes at a time, each with one BLAS thread, into OUT/<candidate>-s<seed>/results.json.
# A unit whose results.json exists is skipped, so the script can be re-run to finish a pool.
#   run_units.sh SUITE OUT "full lora qlora prompt" "1 2 3 …" [JOBS]
set -euo pipefail
suite=$1 out=$2 candidates=$3 seeds=$4 jobs=${5:-2}
binary=${EVALHARNESS_BIN:-$out/bin/evalharness}
mkdir -p "$out"
if [ ! -x "$binary" ]; then
  mkdir -p "$(dirname "$binary")"
  cp .build/release/evalharness "$binary"
fi
for seed in $seeds; do
  for candidate in $candidates; do
    unit="$out/$candidate-s$seed"
    [ -f "$unit/results.json" ] && continue
    echo "$candidate $seed $unit"
  done
done | xargs -P "$jobs" -L 1 sh -c '
  start=$(date +%s)
  "$0" compare "$1" --candidates "$2" --seed "$3" --threads 1 --quiet --out "$4" > "$4.log" 2>&1 || true
  rm -rf "$4/adapters"
  echo "$(date +%T) $2 seed $3: $(( $(date +%s) - start )) s"
' "$binary" "$suite"
