#!/usr/bin/env bash
# Fetches the evaluation data sets from the package registries and converts them to JSONL under
# data/ (git-ignored), with data/MANIFEST.json recording every file's SHA-256 and line count.
#
#   vader       PyPI  vaderSentiment==3.3.2 (sdist)  -> data/vader/<domain>/{train,validation,test}.jsonl
#   wordnet     apt   wordnet-base (WordNet 3.0)     -> data/wordnet/{glosses,train,test,probe_train,probe_test}.jsonl
#   similarity  PyPI  gensim==4.4.0 (wheel)          -> data/similarity/{lee,simlex999,wordsim353}.jsonl
#
# Usage: scripts/fetch_data.sh [--force] [--data-dir DIR] [SOURCE ...]   (default: all three)
# Idempotent: a source whose files match the manifest is skipped (--force converts it again).
# The rules and the counts they give are in scripts/DATA_PREPARATION.md.
# Exit codes: 0 success, 2 usage or a missing tool (python3, pip, apt-get, dpkg-deb),
# 3 a download failed (pip or apt answered no) or a source was not what was expected.
# FETCH_DATA_ALLOW_SOURCE_DRIFT=1 converts sources whose pinned SHA-256 no longer matches.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
helper="$root/scripts/prepare_data.py"
data_dir="${EVALHARNESS_DATA_DIR:-$root/data}"
force=0
sources=()

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --data-dir) [ $# -ge 2 ] || { echo "error: --data-dir needs a directory" >&2; exit 2; }
                data_dir="$2"; shift ;;
    --data-dir=*) data_dir="${1#--data-dir=}" ;;
    -h|--help) usage; exit 0 ;;
    vader|wordnet|similarity) sources+=("$1") ;;
    *) echo "error: unknown argument '$1' (sources: vader wordnet similarity)" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[ ${#sources[@]} -gt 0 ] || sources=(vader wordnet similarity)

command -v python3 >/dev/null || { echo "error: python3 is needed" >&2; exit 2; }
mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"

work="$(mktemp -d "${TMPDIR:-/tmp}/fetch_data.XXXXXX")"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "[$1] $2"; }

need_pip() {
  python3 -m pip --version >/dev/null 2>&1 || { echo "error: pip is not available (python3 -m pip)" >&2; exit 2; }
}

# pip_download SOURCE DEST ARGS...: runs pip download; on failure shows pip's answer and exits 3.
pip_download() {
  local source="$1" dest="$2"; shift 2
  mkdir -p "$dest"
  if ! python3 -m pip download --no-deps --disable-pip-version-check -d "$dest" "$@" >"$work/$source.pip.log" 2>&1; then
    echo "error: pip could not download $* (is PyPI reachable?); pip said:" >&2
    tail -n 15 "$work/$source.pip.log" | sed 's/^/  pip: /' >&2
    exit 3
  fi
}

fetch_vader() {
  need_pip
  log vader "downloading vaderSentiment==3.3.2 (sdist, 2.5 MB) from PyPI ..."
  pip_download vader "$work/vader" --no-binary :all: vaderSentiment==3.3.2
  local sdist
  sdist="$(ls "$work"/vader/vaderSentiment-3.3.2.tar.gz 2>/dev/null || true)"
  [ -n "$sdist" ] || { echo "error: pip saved no vaderSentiment-3.3.2.tar.gz (got: $(ls "$work/vader"))" >&2; exit 3; }
  python3 "$helper" vader --sdist "$sdist" --data "$data_dir"
}

fetch_wordnet() {
  command -v apt-get >/dev/null || { echo "error: apt-get is needed for wordnet-base (Debian/Ubuntu)" >&2; exit 2; }
  command -v dpkg-deb >/dev/null || { echo "error: dpkg-deb is needed to unpack wordnet-base" >&2; exit 2; }
  local dir="$work/wordnet" apt_opts=()
  mkdir -p "$dir"
  # As root, apt would drop to the _apt user, who cannot write into our private temp directory.
  [ "$(id -u)" -eq 0 ] && apt_opts=(-o APT::Sandbox::User=root)
  log wordnet "downloading wordnet-base (6.5 MB) with apt-get download ..."
  if ! (cd "$dir" && apt-get download "${apt_opts[@]}" wordnet-base) >"$work/apt.log" 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
      log wordnet "apt-get download failed (package lists missing or stale?): running apt-get update and retrying"
      if ! apt-get update >"$work/apt-update.log" 2>&1; then
        echo "error: apt-get update failed; apt said:" >&2
        tail -n 15 "$work/apt-update.log" | sed 's/^/  apt: /' >&2
        exit 3
      fi
      if ! (cd "$dir" && apt-get download "${apt_opts[@]}" wordnet-base) >"$work/apt.log" 2>&1; then
        echo "error: apt-get download wordnet-base failed; apt said:" >&2
        tail -n 15 "$work/apt.log" | sed 's/^/  apt: /' >&2
        exit 3
      fi
    else
      echo "error: apt-get download wordnet-base failed (as a non-root user; run 'apt-get update' as root first?); apt said:" >&2
      tail -n 15 "$work/apt.log" | sed 's/^/  apt: /' >&2
      exit 3
    fi
  fi
  local deb version
  deb="$(ls "$dir"/wordnet-base_*.deb 2>/dev/null | head -n1 || true)"
  [ -n "$deb" ] || { echo "error: apt-get saved no wordnet-base_*.deb" >&2; exit 3; }
  version="$(dpkg-deb -f "$deb" Version)"
  case "$version" in
    3.0-*|*:3.0-*) ;;
    *) echo "error: wordnet-base $version is not WordNet 3.0 (the rules and pinned hashes are for 3.0)" >&2; exit 3 ;;
  esac
  log wordnet "unpacking wordnet-base $version with dpkg-deb -x (no install) ..."
  dpkg-deb -x "$deb" "$dir/root" || { echo "error: dpkg-deb could not unpack $deb" >&2; exit 3; }
  python3 "$helper" wordnet --root "$dir/root" --deb "$deb" --package-version "$version" --data "$data_dir"
}

fetch_similarity() {
  need_pip
  # Pinned to one wheel (any interpreter here can read its data files): the same bytes on every
  # machine, and pip never falls back to building gensim from source.
  log similarity "downloading gensim==4.4.0 (wheel, 28 MB) from PyPI ..."
  pip_download similarity "$work/similarity" --only-binary :all: --platform manylinux_2_28_x86_64 \
    --python-version 3.11 --implementation cp --abi cp311 gensim==4.4.0
  local wheel
  wheel="$(ls "$work"/similarity/gensim-4.4.0-*.whl 2>/dev/null | head -n1 || true)"
  [ -n "$wheel" ] || { echo "error: pip saved no gensim-4.4.0 wheel (got: $(ls "$work/similarity"))" >&2; exit 3; }
  python3 "$helper" similarity --wheel "$wheel" --data "$data_dir"
}

echo "data directory: $data_dir"
total_start="$(now)"
for source in "${sources[@]}"; do
  start="$(now)"
  if [ "$force" -eq 0 ] && python3 "$helper" check "$source" --data "$data_dir"; then
    continue
  fi
  "fetch_$source"   # exits 2 or 3 on failure; data/ then keeps what was complete before
  log "$source" "converted and verified in $(since "$start") s"
  rm -rf "${work:?}"/*
done

python3 "$helper" summary --data "$data_dir"
echo "all done in $(since "$total_start") s; manifest: $data_dir/MANIFEST.json"
