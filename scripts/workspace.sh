#!/usr/bin/env bash
# Copy the example notebooks into the folder JupyterLab opens ($PYNENC_NB_WORKSPACE, default
# workspace/): a notebook already there is yours and never overwritten, a new example is added.
# So running the examples leaves the tracked notebooks/ unchanged. Prints the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${PYNENC_NB_WORKSPACE:-workspace}"
mkdir -p "$target"
for notebook in notebooks/*.ipynb; do
  [ -e "$target/$(basename "$notebook")" ] || cp "$notebook" "$target/"
done
echo "$target"
