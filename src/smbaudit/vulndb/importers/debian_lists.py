"""Debian's DSA and DLA lists: the security tracker's raw text (data/DSA/list, data/DLA/list).

    [29 Mar 2023] DSA-5380-1 xorg-server - security update
    	{CVE-2023-1393}
    	[bullseye] - xorg-server 2:1.20.11-1+deb11u6
    	[buster] - foo <not-affected> (Vulnerable code not present)
    	NOTE: ...

Each release line gives the fixed source version for every CVE in braces (an advisory with no
CVE id, such as a regression update, is recorded under its own id).
"""

from __future__ import annotations

import datetime as dt
import re

from smbaudit.vulndb.errors import ImportFailure
from smbaudit.vulndb.model import NameKind, Parsed, Record, VulnStatus

HEADER = re.compile(r"^\[(?P<date>\d{1,2} [A-Z][a-z]{2} \d{4})\] (?P<id>(?:DSA|DLA|DTSA)-\d+(?:-\d+)?)\b")
_CVES = re.compile(r"^\s+\{(?P<ids>[^}]*)\}")
_RELEASE = re.compile(r"^\s+\[(?P<release>[a-z-]+)\] - (?P<package>\S+)\s+(?P<rest>.*)$")
_TAG_STATUS = {"not-affected": VulnStatus.NOT_AFFECTED, "end-of-life": VulnStatus.WONT_FIX,
               "unfixed": VulnStatus.AFFECTED, "no-dsa": VulnStatus.WONT_FIX,
               "ignored": VulnStatus.WONT_FIX, "postponed": VulnStatus.DEFERRED,
               "undetermined": VulnStatus.UNDETERMINED}


def looks_like(head: str) -> bool:
    first = next((line for line in head.splitlines() if line.strip()), "")
    return bool(HEADER.match(first))


def parse(text: str, path: str) -> Parsed:
    parsed = Parsed(format="debian-dsa-list")
    advisory, date = "", ""
    cves: list[str] = []
    seen_header = False
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = HEADER.match(line)
        if m:
            seen_header = True
            advisory, cves = m.group("id"), []
            try:
                date = dt.datetime.strptime(m.group("date"), "%d %b %Y").date().isoformat()
            except ValueError:
                raise ImportFailure(f"{path}:{lineno}: bad date {m.group('date')!r}") from None
            continue
        if not seen_header:
            raise ImportFailure(f"{path}:{lineno}: expected an advisory line "
                                "'[DD Mon YYYY] DSA-NNNN-N package - title'")
        m = _CVES.match(line)
        if m:
            cves.extend(i for i in m.group("ids").split() if i)
            continue
        m = _RELEASE.match(line)
        if not m:
            continue  # NOTE: lines and free text
        rest = m.group("rest").strip()
        status, fixed = VulnStatus.FIXED, ""
        if rest.startswith("<"):
            tag = rest[1:].split(">", 1)[0]
            status = _TAG_STATUS.get(tag, VulnStatus.UNDETERMINED)
        else:
            fixed = rest.split()[0]
        for vuln in cves or [advisory]:
            parsed.records.append(Record(
                distro="debian", release=m.group("release"), package=m.group("package"),
                name_kind=NameKind.SOURCE, vuln_id=vuln, status=status, fixed=fixed,
                scheme="deb", advisories=(advisory,), published=date))
    if not seen_header:
        raise ImportFailure(f"{path}: no advisory found")
    return parsed
