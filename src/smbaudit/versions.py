"""Package version ordering as the package managers define it.

dpkg: python-debian's version_compare (epochs, `~` sorting before anything, revisions).
rpm: epoch compared as a number, then version and release each with rpm's own segment
comparison (rpm-vercmp's `vercmp`, which handles `~` and `^` but not epochs by itself).
apk: Alpine's order (apk-tools' version.c): dotted numbers, an optional letter, `_suffix[N]`
(alpha < beta < pre < rc < none < cvs < svn < git < hg < p), then `-rN`.
"""

from __future__ import annotations

import re

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
    from debian.debian_support import version_compare  # python-debian loads when first used

    result = version_compare(a, b)
    return (result > 0) - (result < 0)


_APK_SUFFIX = {"alpha": -4, "beta": -3, "pre": -2, "rc": -1, "": 0, "cvs": 1, "svn": 2,
               "git": 3, "hg": 4, "p": 5}
_APK = re.compile(r"^(?P<nums>\d+(?:\.\d+)*)(?P<letter>[a-z]?)(?P<suffixes>(?:_[a-z]+\d*)*)"
                  r"(?:~(?P<hash>[0-9a-f]+))?(?:-r(?P<rev>\d+))?$")


def _apk_key(v: str) -> tuple[object, ...]:
    m = _APK.match(v.strip())
    if not m:
        return ((), "", ((0, 0),), 0, v)  # unparseable: ordered after nothing, by text last
    nums = tuple(int(n) for n in m.group("nums").split("."))
    suffixes = []
    for part in re.findall(r"_([a-z]+)(\d*)", m.group("suffixes")):
        suffixes.append((_APK_SUFFIX.get(part[0], 0), int(part[1] or 0)))
    suffixes.append((0, 0))  # "no suffix" closes the list
    return (nums, m.group("letter"), tuple(suffixes), int(m.group("rev") or 0), "")


def apk_compare(a: str, b: str) -> int:
    ka, kb = _apk_key(a), _apk_key(b)
    return (ka > kb) - (ka < kb)


def compare(a: str, b: str, scheme: str) -> int:
    """-1, 0 or 1 for a <, =, > b under `scheme` ('deb', 'rpm' or 'apk')."""
    if scheme == "deb":
        return deb_compare(a, b)
    if scheme == "apk":
        return apk_compare(a, b)
    return rpm_compare(a, b)
