#!/usr/bin/env bash
# Installs the system libraries evalharness links (OpenBLAS, libxml2, SQLite) and pkg-config, which SwiftPM
# uses to find them. As root with apt-get (Debian, Ubuntu, the swift:6 images) it installs what is
# missing; otherwise it prints the one command to run and exits 2. Idempotent: with everything
# present it only checks.
set -euo pipefail

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if command -v pkg-config >/dev/null 2>&1; then
  pkg-config --exists openblas || missing+=(libopenblas-dev)
  pkg-config --exists libxml-2.0 || missing+=(libxml2-dev)
  pkg-config --exists sqlite3 || missing+=(libsqlite3-dev)
else
  missing+=(libopenblas-dev libxml2-dev libsqlite3-dev)
fi
command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "setup: evalharness needs ${missing[*]}; install them, e.g.:" >&2
echo "  sudo apt-get install ${missing[*]}        # Debian/Ubuntu" >&2
echo "  (other systems: OpenBLAS, libxml2 and pkg-config from the system's package manager)" >&2
exit 2
