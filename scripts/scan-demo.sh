#!/usr/bin/env bash
# Set up smbaudit in ./.venv, then audit this host and a bundled demo tree; print where the
# HTML report is. Usage: bash scripts/scan-demo.sh [REPORT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-smbaudit-report}"

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .

demo_tree="$(mktemp -d)/demo-tree"
.venv/bin/smbaudit demo "$demo_tree" >/dev/null
# --fail-on none: this is a demonstration, so findings do not make the command fail.
.venv/bin/smbaudit scan local "dir:$demo_tree" --name "$(hostname)" --name demo-tree \
    --output "$out/" --fail-on none
[[ "$out" = /* ]] || out="$(pwd)/$out"
echo
echo "Open the HTML report: ${out%/}/report.html"
