"""Which operating system a host runs, its family, and whether it still gets security updates.

The `family` fact is a contract with the engine: checks say `applies: {os_family: [...]}` and
the engine compares that list with this probe's `family`.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from smbaudit import resources, yamlload
from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

FAMILIES = ("debian", "rhel", "suse", "alpine", "arch", "linux")
_FAMILY_OF_ID = {
    "debian": "debian", "ubuntu": "debian", "linuxmint": "debian", "raspbian": "debian",
    "pop": "debian", "kali": "debian", "elementary": "debian", "devuan": "debian",
    "rhel": "rhel", "centos": "rhel", "rocky": "rhel", "almalinux": "rhel", "ol": "rhel",
    "fedora": "rhel", "amzn": "rhel", "scientific": "rhel", "eurolinux": "rhel",
    "sles": "suse", "opensuse": "suse", "opensuse-leap": "suse", "opensuse-tumbleweed": "suse",
    "suse": "suse", "alpine": "alpine", "arch": "arch", "manjaro": "arch", "endeavouros": "arch",
}
_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")
_REDHAT_RELEASE = re.compile(
    r"^(?P<name>.+?) (?:Linux )?release (?P<version>\d+(?:\.\d+)*)", re.IGNORECASE)
_REDHAT_IDS = (("centos stream", "centos"), ("centos", "centos"), ("rocky", "rocky"),
               ("alma", "almalinux"), ("oracle", "ol"), ("fedora", "fedora"),
               ("red hat", "rhel"), ("scientific", "scientific"))

# "Today", injectable: tests and reproducible reports pass `today` in params (or the engine
# passes ctx.options["today"]); otherwise this function is asked.
today_fn: Callable[[], dt.date] = dt.date.today


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines (shell-quoted values) as in os-release(5); keys lower-cased."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw, comments=False, posix=True)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[key.strip().lower()] = " ".join(parts)
    return values


def family_of(os_id: str, id_like: str = "") -> str:
    for candidate in [os_id, *id_like.split()]:
        fam = _FAMILY_OF_ID.get(candidate.lower())
        if fam:
            return fam
    return "linux"


def read_os_release(host: HostTarget) -> dict[str, str]:
    """The os-release fields of a host, falling back to redhat-release / debian_version.

    Raises ProbeError when none of these files exists.
    """
    for path in _RELEASE_FILES:
        text = host.read_text_or_none(path)
        if text is not None:
            values = parse_os_release(text)
            values["source"] = path
            return values
    text = host.read_text_or_none("/etc/redhat-release")
    if text is not None:
        m = _REDHAT_RELEASE.match(text.strip())
        if m:
            name = m.group("name").lower()
            os_id = next((i for key, i in _REDHAT_IDS if key in name), "rhel")
            return {"id": os_id, "version_id": m.group("version"), "name": m.group("name"),
                    "pretty_name": text.strip(), "source": "/etc/redhat-release"}
    text = host.read_text_or_none("/etc/debian_version")
    if text is not None:
        version = text.strip()
        major = version.split(".")[0]
        return {"id": "debian", "version_id": major if major.isdigit() else version,
                "name": "Debian GNU/Linux", "pretty_name": f"Debian GNU/Linux {version}",
                "source": "/etc/debian_version"}
    raise ProbeError("no /etc/os-release, /usr/lib/os-release, /etc/redhat-release or "
                     "/etc/debian_version: cannot tell which operating system this is")


@cache
def eol_table() -> dict[str, Any]:
    data = yamlload.load_file(resources.data_file("os-eol.yaml"))
    return data["releases"]


def eol_entry(os_id: str, version_id: str, name: str = "") -> dict[str, Any] | None:
    """The os-eol.yaml entry for a release, or None when the table does not know it."""
    by_version = eol_table().get(os_id)
    if not by_version:
        return None
    keys = [version_id]
    major = version_id.split(".")[0]
    if os_id != "ubuntu":
        keys.append(major)
    if "stream" in name.lower():
        keys.insert(0, f"{major}-stream")
    for key in keys:
        if key in by_version:
            return dict(by_version[key])
    return None


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def today_from(params: Mapping[str, Any], ctx: ProbeContext) -> dt.date:
    given = params.get("today") or ctx.options.get("today")
    return _as_date(given) if given else today_fn()


class OsReleaseProbe(Probe):
    """The operating system of a host and its support status.

    Facts: id, id_like, version_id, version_codename, name, pretty_name, family (one of
    debian, rhel, suse, alpine, arch, linux), source (the file read), known (the EOL table
    knows this release), eol (ISO date: end of free security updates), extended_eol (paid
    extended support end or None), eol_passed (bool), days_to_eol (int, negative once passed),
    lts (bool), eol_approximate (bool), today (the date used).
    """

    name = "os_release"
    description = "operating system, family and end-of-life status"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "today": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$",
                      "description": "the date to judge end of life against (default: today)"},
        },
    }

    facts = fs.record(
        id=fs.STR, id_like=fs.STR, version_id=fs.STR, version_codename=fs.STR, name=fs.STR,
        pretty_name=fs.STR, family=fs.enum("debian", "rhel", "suse", "alpine", "arch", "linux"),
        source=fs.STR, today=fs.STR, known=fs.BOOL,
        # None when the end-of-life table does not know the release
        eol=fs.nullable(fs.STR), extended_eol=fs.nullable(fs.STR),
        eol_passed=fs.nullable(fs.BOOL), days_to_eol=fs.nullable(fs.INT),
        lts=fs.nullable(fs.BOOL), eol_approximate=fs.nullable(fs.BOOL),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget):
            raise ProbeError(f"{target.name} has no file system")
        values = read_os_release(target)
        os_id = values.get("id", "linux").lower()
        version_id = values.get("version_id", "")
        today = today_from(params, ctx)
        facts: Facts = {
            "id": os_id,
            "id_like": values.get("id_like", ""),
            "version_id": version_id,
            "version_codename": values.get("version_codename", ""),
            "name": values.get("name", os_id),
            "pretty_name": values.get("pretty_name", values.get("name", os_id)),
            "family": family_of(os_id, values.get("id_like", "")),
            "source": values["source"],
            "today": today.isoformat(),
        }
        entry = eol_entry(os_id, version_id, facts["name"] + " " + facts["pretty_name"])
        facts["known"] = entry is not None
        if entry is None:
            facts.update(eol=None, extended_eol=None, eol_passed=None, days_to_eol=None,
                         lts=None, eol_approximate=None)
            return facts
        eol = _as_date(entry["eol"])
        extended = entry.get("extended_eol")
        facts.update(
            eol=eol.isoformat(),
            extended_eol=_as_date(extended).isoformat() if extended else None,
            eol_passed=today > eol,
            days_to_eol=(eol - today).days,
            lts=bool(entry.get("lts", False)),
            eol_approximate=bool(entry.get("approximate", False)),
        )
        if not facts["version_codename"] and entry.get("codename"):
            facts["version_codename"] = entry["codename"]
        return facts
