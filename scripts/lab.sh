#!/usr/bin/env bash
# Set up and open JupyterLab on the example notebooks (embedded SQLite default, nothing else to run).
# Listens on 127.0.0.1 only; open the URL it prints (it carries the access token). It opens copies
# in workspace/ (scripts/workspace.sh), so running the examples leaves the tracked notebooks/ unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
folder="$(bash scripts/workspace.sh)"
extra=()
if [ "$(id -u)" = "0" ]; then extra+=(--allow-root); fi
exec .venv/bin/jupyter lab --notebook-dir "$folder" --ServerApp.ip=127.0.0.1 --no-browser "${extra[@]}" "$@"
