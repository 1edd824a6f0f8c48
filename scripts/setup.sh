#!/usr/bin/env bash
# Create .venv (if missing) and install pynenc_nb with the given extras (default: test).
# Only Python >= 3.11 and the package registries are needed.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-test}"
python_bin="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
.venv/bin/python -m pip install --quiet -e ".[${extras}]"
