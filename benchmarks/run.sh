#!/usr/bin/env bash
# Host benchmark in one command: installs the peer tools (as root) and smbaudit, then runs
# benchmarks/host_speed.py. Extra arguments go to the script (e.g. --json results.json).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/apt-install.sh benchmarks/apt-packages.txt

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/python benchmarks/host_speed.py "$@"
