"""The official feeds `vulndb update` downloads, and how a site points them elsewhere.

Every feed has a name (`--source NAME`), the URL of its publisher, and the format its content
must have (a mirror serving the wrong file is refused). URLs are configurable one by one
(`--url NAME=URL`), or all at once with one mirror base URL (`--mirror URL`): the feed
`https://HOST/PATH` is then fetched from `MIRROR/HOST/PATH`, the layout `wget -x` (or any
caching proxy keyed on host and path) produces.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from smbaudit.vulndb.errors import VulnDBError

_OSV = "https://osv-vulnerabilities.storage.googleapis.com"
_DEBIAN_TRACKER = "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data"


@dataclass(frozen=True)
class FeedSpec:
    name: str
    url: str
    format: str  # what its content must parse as (model.Parsed.format)
    what: str  # one line for `vulndb update --list`
    checksum_url: str = ""  # a file naming the sha256 of the feed, when the publisher has one


FEEDS: tuple[FeedSpec, ...] = (
    FeedSpec("debian-tracker", "https://security-tracker.debian.org/tracker/data/json",
             "debian-tracker-json", "Debian Security Tracker (every CVE, supported releases)"),
    FeedSpec("debian-dsa", f"{_DEBIAN_TRACKER}/DSA/list", "debian-dsa-list",
             "Debian Security Advisories (DSA list)"),
    FeedSpec("debian-dla", f"{_DEBIAN_TRACKER}/DLA/list", "debian-dsa-list",
             "Debian LTS Advisories (DLA list)"),
    FeedSpec("ubuntu", f"{_OSV}/Ubuntu/all.zip", "osv",
             "Ubuntu Security Notices and CVE statuses, Ubuntu Pro included (OSV)"),
    FeedSpec("redhat", f"{_OSV}/Red%20Hat/all.zip", "osv",
             "Red Hat Enterprise Linux advisories, EUS/E4S/AUS streams included (OSV)"),
    FeedSpec("almalinux", f"{_OSV}/AlmaLinux/all.zip", "osv", "AlmaLinux advisories (OSV)"),
    FeedSpec("rocky", f"{_OSV}/Rocky%20Linux/all.zip", "osv", "Rocky Linux advisories (OSV)"),
    FeedSpec("alpine", f"{_OSV}/Alpine/all.zip", "osv", "Alpine secdb (OSV)"),
)


def by_name() -> dict[str, FeedSpec]:
    return {f.name: f for f in FEEDS}


def mirrored(url: str, mirror: str) -> str:
    """`https://HOST/PATH` as fetched from the mirror base URL: `MIRROR/HOST/PATH`."""
    parts = urllib.parse.urlsplit(url)
    base = mirror.rstrip("/")
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"{base}/{parts.netloc}{tail}"


def check_url(url: str, what: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise VulnDBError(f"{what}: {url!r} is not an http(s) URL")
    return url


def select(names: Sequence[str], urls: Mapping[str, str], mirror: str,
           skip: Sequence[str] = ()) -> list[FeedSpec]:
    """The feeds to fetch, in catalogue order, with the site's URLs applied."""
    known = by_name()
    for name in [*names, *urls, *skip]:
        if name not in known:
            raise VulnDBError(f"unknown feed {name!r}; known: {', '.join(known)}")
    if mirror:
        check_url(mirror, "--mirror")
    chosen: list[FeedSpec] = []
    for feed in FEEDS:
        if (names and feed.name not in names) or feed.name in skip:
            continue
        url, checksum = feed.url, feed.checksum_url
        if mirror:
            url = mirrored(url, mirror)
            checksum = mirrored(checksum, mirror) if checksum else ""
        if feed.name in urls:
            url = check_url(urls[feed.name], f"--url {feed.name}")
            checksum = ""
        chosen.append(replace(feed, url=url, checksum_url=checksum))
    if not chosen:
        raise VulnDBError("no feed left to fetch (--source and --skip exclude them all)")
    return chosen


def parse_url_options(values: Sequence[str]) -> dict[str, str]:
    """`--url NAME=URL` values."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name or not url:
            raise VulnDBError(f"--url {value!r}: expected NAME=URL")
        out[name.strip()] = url.strip()
    return out
