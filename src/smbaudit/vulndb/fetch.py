"""Downloading one feed: bounded in size and time, verified where the publisher lets us, and
conditional (ETag / Last-Modified) when the store already holds the feed.

Checks made on every download: the HTTP status, the length against Content-Length (a cut
connection is refused, never imported), the MD5 a server publishes in `Content-MD5` or
Google Cloud Storage's `x-goog-hash` (the osv.dev bucket does), the sha256 named by the feed's
checksum file when it has one, and no redirect from https to plain http. The sha256 of what was
fetched is always computed and recorded in the store.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from smbaudit import __version__
from smbaudit.vulndb.errors import FetchFailure
from smbaudit.vulndb.feeds import FeedSpec

CHUNK = 1024 * 1024
MAX_CHECKSUM_FILE = 64 * 1024
MAX_SUMS_FILE = 1024 * 1024
_SHA256 = re.compile(r"\b[0-9a-fA-F]{64}\b")

# (feed name, bytes so far, total bytes or None when the server does not say, finished)
Progress = Callable[[str, int, "int | None", bool], None]


@dataclass(frozen=True)
class Limits:
    timeout: float = 30.0  # connecting, and the longest wait for the next bytes
    max_seconds: float = 1800.0  # one feed's whole download
    max_bytes: int = 2 * 1024**3  # one feed's size as sent


@dataclass
class Validators:
    """What the server said about the copy the store holds, for a conditional request."""

    url: str = ""
    etag: str = ""
    last_modified: str = ""


@dataclass
class Fetched:
    feed: FeedSpec
    fetched_at: str
    path: Path | None = None  # None when the server answered 304 Not Modified
    size: int = 0
    sha256: str = ""
    validators: Validators = field(default_factory=Validators)
    verified: list[str] = field(default_factory=list)  # what was checked beyond the status

    @property
    def not_modified(self) -> bool:
        return self.path is None


class _NoDowngrade(urllib.request.HTTPRedirectHandler):
    max_redirections = 5

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        if req.full_url.startswith("https:") and not newurl.startswith("https:"):
            raise FetchFailure(f"redirected from https to {newurl}: refused")
        if not newurl.startswith(("https:", "http:")):
            raise FetchFailure(f"redirected to {newurl}: only http(s) is fetched")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoDowngrade())


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _reason(exc: BaseException, limits: Limits) -> str:
    """One plain line for a failed request."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        if isinstance(exc.reason, BaseException):
            return _reason(exc.reason, limits)
        return f"cannot connect ({exc.reason})"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"no answer within {limits.timeout:g} s (timeout)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    if isinstance(exc, socket.gaierror):
        return f"host name not found ({exc.strerror or exc})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message or exc})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, http.client.IncompleteRead):
        return f"truncated: the connection closed after {len(exc.partial)} more bytes"
    if isinstance(exc, (http.client.HTTPException, ConnectionError)):
        return f"connection broken ({type(exc).__name__}: {exc})"
    if isinstance(exc, OSError):
        return f"network error ({exc.strerror or exc})"
    return str(exc)


def _request(url: str, validators: Validators | None) -> urllib.request.Request:
    headers = {"User-Agent": f"smbaudit/{__version__} (vulndb update)",
               "Accept-Encoding": "identity"}
    if validators and validators.url == url:
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
    return urllib.request.Request(url, headers=headers)


def _published_md5(headers: Any) -> str:
    """The base64 MD5 the server publishes for the body, '' when none."""
    for part in (headers.get_all("x-goog-hash") or []):
        for item in part.split(","):
            key, _, value = item.strip().partition("=")
            if key == "md5" and value:
                return value
    return str(headers.get("Content-MD5") or "")


def download(feed: FeedSpec, into: Path, limits: Limits, validators: Validators | None = None,
             progress: Progress | None = None) -> Fetched:
    """Fetch one feed into the folder `into`; FetchFailure (one line) on any problem."""
    try:
        return _download(feed, into, limits, validators, progress)
    except FetchFailure as exc:
        raise FetchFailure(f"{feed.name} ({feed.url}): {exc}") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise FetchFailure(f"{feed.name} ({feed.url}): {_reason(exc, limits)}") from None


def _download(feed: FeedSpec, into: Path, limits: Limits, validators: Validators | None,
              progress: Progress | None) -> Fetched:
    fetched_at = _now()
    started = time.monotonic()
    try:
        resp = _opener().open(_request(feed.url, validators), timeout=limits.timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 304 and validators:
            if progress:
                progress(feed.name, 0, 0, True)
            return Fetched(feed, fetched_at, validators=validators, verified=["not modified"])
        raise
    with resp:
        declared = resp.headers.get("Content-Length")
        total = int(declared) if declared and declared.isdigit() else None
        if total is not None and total > limits.max_bytes:
            raise FetchFailure(f"{total} bytes announced, more than the limit of {limits.max_bytes}")
        digest, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
        size = 0
        path = into / f"{feed.name}.download"
        with open(path, "wb") as out:
            while True:
                chunk = resp.read1(CHUNK)  # returns what arrived: the time limit holds on a trickle
                if not chunk:
                    break
                size += len(chunk)
                if size > limits.max_bytes:
                    raise FetchFailure(f"more than the limit of {limits.max_bytes} bytes")
                if time.monotonic() - started > limits.max_seconds:
                    raise FetchFailure(f"not finished after {limits.max_seconds:g} s (time limit)")
                digest.update(chunk)
                md5.update(chunk)
                out.write(chunk)
                if progress:
                    progress(feed.name, size, total, False)
        verified = []
        if total is not None:
            if size != total:
                raise FetchFailure(f"truncated: {size} of the {total} bytes announced arrived")
            verified.append("length")
        published = _published_md5(resp.headers)
        if published:
            got = base64.b64encode(md5.digest()).decode()
            if got != published:
                raise FetchFailure(f"corrupt: MD5 {got} differs from the published {published}")
            verified.append("md5 (published by the server)")
        new_validators = Validators(url=feed.url, etag=str(resp.headers.get("ETag") or ""),
                                    last_modified=str(resp.headers.get("Last-Modified") or ""))
    sha256 = digest.hexdigest()
    if feed.checksum_url:
        expected = _checksum(feed.checksum_url, limits)
        if expected.lower() != sha256:
            raise FetchFailure(f"corrupt: sha256 {sha256} differs from {expected} "
                               f"published at {feed.checksum_url}")
        verified.append("sha256 (checksum file)")
    if progress:
        progress(feed.name, size, total, True)
    return Fetched(feed, fetched_at, path=path, size=size, sha256=sha256,
                   validators=new_validators, verified=verified)


def _small(url: str, limits: Limits, what: str, most: int) -> str:
    try:
        with _opener().open(_request(url, None), timeout=limits.timeout) as resp:
            data = resp.read(most + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise FetchFailure(f"{what} {url}: {_reason(exc, limits)}") from None
    if len(data) > most:
        raise FetchFailure(f"{what} {url}: larger than {most} bytes")
    return data.decode("utf-8", "replace")


def sha256sums(url: str, limits: Limits) -> dict[str, str]:
    """A site's checksum list in `sha256sum` format ("HEX  PATH" or "HEX *PATH" per line):
    path (without a leading "./") -> sha256."""
    sums: dict[str, str] = {}
    for line in _small(url, limits, "checksum list", MAX_SUMS_FILE).splitlines():
        digest, _, path = line.strip().partition(" ")
        path = path.strip().lstrip("*")
        if _SHA256.fullmatch(digest) and path:
            sums[urllib.parse.unquote(path.removeprefix("./"))] = digest.lower()
    if not sums:
        raise FetchFailure(f"checksum list {url} names no sha256")
    return sums


def listed_sha256(url: str, sums: dict[str, str]) -> str:
    """The sha256 a checksum list gives for the file at `url` (its path's longest listed
    suffix), '' when it lists none."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    best = ""
    for listed, digest in sums.items():
        if (path == listed or path.endswith("/" + listed.lstrip("/"))) and len(listed) > len(best):
            best = listed
    return sums[best] if best else ""


def _checksum(url: str, limits: Limits) -> str:
    text = _small(url, limits, "checksum file", MAX_CHECKSUM_FILE)
    m = _SHA256.search(text)
    if not m:
        raise FetchFailure(f"checksum file {url} names no sha256")
    return m.group(0)
