#!/usr/bin/env bash
# Install the Debian packages listed in a file (one per line, # comments) that are missing.
# As root they are installed; otherwise the missing ones are named and the caller goes on.
# Usage: bash scripts/apt-install.sh LIST_FILE
set -euo pipefail
list="$1"
missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < "$list"
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "$(basename "$list"): missing system packages (run as root to install): ${missing[*]}" >&2
  fi
fi
