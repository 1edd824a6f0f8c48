#!/usr/bin/env bash
# Set up and run the default test suite (benchmarks are separate: tests/benchmarks/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check pynenc_nb kernel_magics tools
.venv/bin/mypy
.venv/bin/lint-imports
# Two workers, whole files each (module fixtures such as a JupyterLab server start once): the suite
# waits on runner processes and servers more than it computes, so 2 cores finish it in half the time.
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
