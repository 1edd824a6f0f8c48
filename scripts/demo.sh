#!/usr/bin/env bash
# Set up and run the quickstart: a runner process on the embedded SQLite default executes tasks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
cd examples/quickstart
exec ../../.venv/bin/python main.py
