#!/usr/bin/env bash
# Installs the pinned environment into .venv: uv from PyPI if it is missing, then exactly uv.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
# use the operating system's certificate store (it holds the CA of any TLS-inspecting proxy in front
# of the package index), not uv's bundled roots
export UV_NATIVE_TLS="${UV_NATIVE_TLS:-1}"
if ! command -v uv >/dev/null 2>&1; then
  echo "==> installing uv (the package manager that reads uv.lock)"
  python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi
echo "==> installing the pinned environment into .venv (uv sync --frozen)"
uv sync --frozen --quiet
