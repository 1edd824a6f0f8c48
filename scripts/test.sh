#!/usr/bin/env bash
# Set up and run the default test suite (benchmarks are separate: tests/benchmarks/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
exec .venv/bin/python -m pytest "$@"
