#!/usr/bin/env bash
# Set up and run the default test suite (benchmarks are separate: tests/benchmarks/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check pynenc_nb kernel_magics tools
.venv/bin/mypy
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
