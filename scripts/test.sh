#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian machine, then run it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/apt-install.sh scripts/apt-packages.txt
# Real Debian 12 trees for tests/test_debian_tree.py, built once with debootstrap (as root; a few
# minutes the first time, then reused). A failure here is reported by that test, not hidden.
if [[ $(id -u) -eq 0 ]]; then
  log="$(mktemp)"
  bash scripts/debian12-trees.sh >"$log" 2>&1 || { tail -n 5 "$log" >&2;
    echo "scripts/debian12-trees.sh failed (full log: $log): the real-tree tests will say so" >&2; }
fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/lint-imports --no-cache
.venv/bin/python -m pytest -q "$@"
