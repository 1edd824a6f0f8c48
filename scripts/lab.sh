#!/usr/bin/env bash
# Set up and open JupyterLab on the example notebooks (embedded SQLite default, nothing else to run).
# Listens on 127.0.0.1 only; open the URL it prints (it carries the access token).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
extra=()
if [ "$(id -u)" = "0" ]; then extra+=(--allow-root); fi
exec .venv/bin/jupyter lab --notebook-dir notebooks --ServerApp.ip=127.0.0.1 --no-browser "${extra[@]}" "$@"
