"""Update channels beyond the main archive: Ubuntu Pro (ESM) and Red Hat's EUS / E4S / AUS /
TUS streams, read from the host's own package sources.

A channel's fixes are published under their own name in the store (`affected.channel`: "pro";
"eus:9.4", "e4s:8.6", ...). A host pinned to a RHEL stream is judged by that stream's rows
where it has any for a vulnerability (the main stream's newer builds are not for it);
otherwise by the main archive's. Ubuntu Pro's rows are judged together with the main
archive's, which a Pro host keeps receiving. An Ubuntu host without Pro is told which fixes only Ubuntu Pro
carries ("fix available with Ubuntu Pro") instead of "no fix".

- Ubuntu: ESM is on when an active apt source names an ESM suite (`<codename>-infra-security`,
  `-infra-updates`, `-apps-security`, `-apps-updates`) or esm.ubuntu.com: one-line `.list`
  files (`#` lines are off) and deb822 `.sources` files (`Enabled: no` is off), as the Pro
  client writes them (/etc/apt/sources.list.d/ubuntu-esm-{infra,apps}.{list,sources}).
- RHEL: a stream is on when an enabled repository id in /etc/yum.repos.d/*.repo names it
  (rhel-9-for-x86_64-baseos-eus-rpms, rhel-8-for-x86_64-appstream-e4s-rpms,
  rhel-7-server-eus-rpms); its minor release from /etc/dnf/vars/releasever or /etc/yum/vars/
  releasever when set to one (`subscription-manager release --set=9.4`), else os-release's
  VERSION_ID.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Iterable

PRO = "pro"
RHEL_STREAMS = ("eus", "e4s", "aus", "tus")
_ESM_SUITE = re.compile(r"-(infra|apps)-(security|updates)$")
_REPO_STREAM = re.compile(r"-(eus|e4s|aus|tus)-")

NAMES = {PRO: "Ubuntu Pro", "eus": "Red Hat EUS", "e4s": "Red Hat E4S", "aus": "Red Hat AUS",
         "tus": "Red Hat TUS"}


def replaces_main(channel: str) -> bool:
    """A RHEL stream pins the host to a minor release: the main stream's newer builds are not
    for it. Ubuntu Pro adds to the main archive, which the host keeps."""
    return channel.partition(":")[0] in RHEL_STREAMS


def describe(channel: str) -> str:
    """'pro' -> 'Ubuntu Pro'; 'eus:9.4' -> 'Red Hat EUS 9.4'."""
    kind, _, minor = channel.partition(":")
    name = NAMES.get(kind, kind)
    return f"{name} {minor}" if minor else name


def _is_esm(uri: str, suite: str) -> bool:
    return bool(_ESM_SUITE.search(suite)) or "esm.ubuntu.com" in uri


def esm_in_list(text: str) -> bool:
    """An active `deb URI SUITE ...` line of a one-line-style apt source names ESM."""
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] not in ("deb", "deb-src"):
            continue
        words = words[1:]
        if words and words[0].startswith("["):  # [signed-by=... arch=...] options
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2 and _is_esm(words[0], words[1]):
            return True
    return False


def esm_in_sources(text: str) -> bool:
    """An enabled deb822 stanza of a `.sources` file names ESM."""
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[:1] in (" ", "\t") and key:
                fields[key] += " " + line.strip()
                continue
            key, sep, value = line.partition(":")
            key = key.strip().lower()
            if sep:
                fields[key] = value.strip()
        if not fields or fields.get("enabled", "yes").lower() in ("no", "false", "0"):
            continue
        uris, suites = fields.get("uris", "").split(), fields.get("suites", "").split()
        if any(_is_esm(u, s) for u in uris or [""] for s in suites or [""]):
            return True
    return False


def ubuntu_channels(files: Iterable[tuple[str, str]]) -> list[str]:
    """(path, text) of the apt sources -> ["pro"] when ESM is on, else []."""
    for path, text in files:
        if (esm_in_sources(text) if path.endswith(".sources") else esm_in_list(text)):
            return [PRO]
    return []


def rhel_streams(repo_files: Iterable[str]) -> list[str]:
    """The streams ("eus", "e4s", ...) of the enabled repositories in .repo files."""
    found: set[str] = set()
    for text in repo_files:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(text)
        except configparser.Error:
            continue
        for section in parser.sections():
            enabled = parser.get(section, "enabled", fallback="1").strip().lower()
            m = _REPO_STREAM.search(f"{section}-")
            if m and enabled in ("1", "true", "yes"):
                found.add(m.group(1))
    return sorted(found)


def rhel_channels(streams: Iterable[str], version_id: str, releasever: str = "") -> list[str]:
    """Store channels for these streams at the host's minor release ("eus:9.4")."""
    minor = releasever.strip() if "." in releasever.strip() else version_id.strip()
    if "." not in minor:
        return []  # a stream without a known minor release cannot be matched
    minor = ".".join(minor.split(".")[:2])
    return [f"{s}:{minor}" for s in streams]


def offered(distro: str, enabled: Iterable[str]) -> list[str]:
    """Channels whose fixes a host without them is told about."""
    return [PRO] if distro == "ubuntu" and PRO not in enabled else []
