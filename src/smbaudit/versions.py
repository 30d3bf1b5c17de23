"""Package version ordering as the package managers define it.

dpkg: python-debian's version_compare (epochs, `~` sorting before anything, revisions).
rpm: epoch compared as a number, then version and release each with rpm's own segment
comparison (rpm-vercmp's `vercmp`, which handles `~` and `^` but not epochs by itself).
"""

from __future__ import annotations

from debian.debian_support import version_compare
from rpm_vercmp import vercmp


def split_evr(evr: str) -> tuple[int, str, str]:
    """'1:2.3-4.el9' -> (1, '2.3', '4.el9'); a missing epoch is 0, a missing release ''."""
    epoch = 0
    if ":" in evr:
        head, _, evr = evr.partition(":")
        epoch = int(head) if head.isdigit() else 0
    version, sep, release = evr.rpartition("-")
    if not sep:
        version, release = release, ""
    return epoch, version, release


def rpm_compare(a: str, b: str) -> int:
    ea, va, ra = split_evr(a)
    eb, vb, rb = split_evr(b)
    if ea != eb:
        return (ea > eb) - (ea < eb)
    result = vercmp(va, vb)
    if result == 0 and ra and rb:
        result = vercmp(ra, rb)
    return (result > 0) - (result < 0)


def deb_compare(a: str, b: str) -> int:
    result = version_compare(a, b)
    return (result > 0) - (result < 0)


def compare(a: str, b: str, scheme: str) -> int:
    """-1, 0 or 1 for a <, =, > b under `scheme` ('deb' or 'rpm')."""
    return deb_compare(a, b) if scheme == "deb" else rpm_compare(a, b)
