#!/usr/bin/env bash
# Build the two Debian 12 trees the real-tree tests scan (tests/test_debian_tree.py), from real
# Debian packages with debootstrap, once; later runs reuse them.
#
#   stock:    `debootstrap bookworm` as it comes (required + important packages)
#   hardened: the same plus the packages a CIS Debian 12 configuration uses (kernel, OpenSSH,
#             sudo, AppArmor, auditd, AIDE, pwquality, nftables, chrony, rsyslog, unattended
#             upgrades, process accounting), with AIDE's database initialised. Its configuration
#             is applied by the test itself (tests/debian_tree.py) on a linked copy.
#
# Usage (as root, needs a Debian mirror over http):
#   bash scripts/debian12-trees.sh [DEST]     DEST defaults to $SMBAUDIT_DEBIAN_TREES or
#                                             /var/cache/smbaudit-trees
# The mirror is the one apt uses here (deb.debian.org unless MIRROR is set).
set -euo pipefail
dest="${1:-${SMBAUDIT_DEBIAN_TREES:-/var/cache/smbaudit-trees}}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
extra="linux-image-amd64,openssh-server,sudo,apparmor,apparmor-utils,auditd,audispd-plugins,aide,aide-common,libpam-pwquality,nftables,chrony,rsyslog,cron,systemd-journal-remote,unattended-upgrades,acct"
command -v debootstrap >/dev/null || { echo "debootstrap is not installed: apt-get install debootstrap" >&2; exit 2; }
mkdir -p "$dest"
cache=(--cache-dir=/var/cache/apt/archives)

if [[ ! -e "$dest/debian12-stock/etc/debian_version" ]]; then
  debootstrap "${cache[@]}" bookworm "$dest/debian12-stock.new" "$mirror"
  mv "$dest/debian12-stock.new" "$dest/debian12-stock"
fi
if [[ ! -e "$dest/debian12-hardened/var/lib/aide/aide.db" ]]; then
  if [[ ! -e "$dest/debian12-hardened.new/etc/debian_version" ]]; then
    debootstrap "${cache[@]}" --include="$extra" bookworm "$dest/debian12-hardened.new" "$mirror"
  fi
  # AIDE's database, as aideinit makes it (run inside the tree: it describes the tree's files)
  chroot "$dest/debian12-hardened.new" aide --config /etc/aide/aide.conf --init >/dev/null || true
  if [[ -e "$dest/debian12-hardened.new/var/lib/aide/aide.db.new" ]]; then
    mv "$dest/debian12-hardened.new/var/lib/aide/aide.db.new" "$dest/debian12-hardened.new/var/lib/aide/aide.db"
  fi
  mv "$dest/debian12-hardened.new" "$dest/debian12-hardened"
fi
echo "trees in $dest: debian12-stock, debian12-hardened"
