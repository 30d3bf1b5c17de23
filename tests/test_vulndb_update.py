"""`vulndb update` against a real HTTP server on 127.0.0.1 serving hand-written feeds: a good
update, then every way a download can fail (404, cut body, corrupt file, wrong checksum,
connection refused, timeout), each leaving the previous store byte for byte as it was."""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import ssl
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from netservers import CertFiles, make_cert

from smbaudit.cli import cli
from smbaudit.vulndb import feeds
from smbaudit.vulndb.errors import FetchFailure, ImportFailure, VulnDBError
from smbaudit.vulndb.fetch import Limits
from smbaudit.vulndb.status import store_status
from smbaudit.vulndb.store import VulnStore
from smbaudit.vulndb.update import update

DATA = Path(__file__).parent / "data" / "vulndb"
LOOPBACK = "127.0.0.1"
DSA_PATH = "/security-tracker-team/security-tracker/-/raw/master/data/DSA/list"


@dataclass
class Route:
    body: bytes
    status: int = 200
    etag: str = ""
    cut: int = 0  # announce the full length, send only this many bytes, close
    stall: bool = False  # send half, then wait (until the test ends) without closing
    md5: str = ""  # an x-goog-hash md5 to publish ("" = the right one)
    location: str = ""  # answer 302 to this URL
    trickle: bool = False  # one byte every 50 ms (bounded), never stalling long enough to time out


@dataclass
class Server:
    base: str
    routes: dict[str, Route]
    requests: list[dict[str, str]] = field(default_factory=list)


def osv_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in sorted((DATA / "osv-folder").glob("*.json")):
            zf.writestr(f.name, f.read_bytes())
    return buf.getvalue()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("no_proxy", LOOPBACK)  # a proxy in the environment is never asked
    with serving() as state:
        yield state


@contextmanager
def serving(tls: CertFiles | None = None) -> Iterator[Server]:
    """A threaded HTTP(S) server on 127.0.0.1 (a free port) serving `Server.routes`."""
    routes: dict[str, Route] = {}
    release = threading.Event()
    state = Server("", routes)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            route = routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            if route.location:
                self.send_response(302)
                self.send_header("Location", route.location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if route.etag and self.headers.get("If-None-Match") == route.etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(route.status)
            self.send_header("Content-Length", str(len(route.body)))
            if route.etag:
                self.send_header("ETag", route.etag)
            md5 = route.md5 or base64.b64encode(hashlib.md5(route.body).digest()).decode()
            self.send_header("x-goog-hash", f"crc32c=AAAAAA==,md5={md5}")
            self.end_headers()
            if route.cut:
                self.wfile.write(route.body[:route.cut])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if route.trickle:
                for i in range(min(len(route.body), 400)):  # bounded: at most 20 s
                    if release.wait(0.05):
                        return
                    self.wfile.write(route.body[i:i + 1])
                    self.wfile.flush()
                return
            if route.stall:
                self.wfile.write(route.body[:len(route.body) // 2])
                self.wfile.flush()
                release.wait(10)  # bounded: the client gives up long before
                return
            self.wfile.write(route.body)

    httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    httpd.daemon_threads = True
    scheme = "http"
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert, tls.key)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    state.base = f"{scheme}://{LOOPBACK}:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


FAST = Limits(timeout=0.5, max_seconds=20, max_bytes=10 * 1024 * 1024)


def two_feeds(base: str) -> list[feeds.FeedSpec]:
    return feeds.select(["debian-dsa", "ubuntu"], {"debian-dsa": f"{base}/dsa", "ubuntu": f"{base}/all.zip"}, "")


def test_update_builds_the_store_and_records_what_was_fetched(server: Server, tmp_path: Path) -> None:
    dsa = (DATA / "DSA-list").read_bytes()
    server.routes.update({"/dsa": Route(dsa, etag='"v1"'), "/all.zip": Route(osv_zip())})
    db = tmp_path / "v.sqlite"
    seen: list[tuple[str, bool]] = []
    results = update(db, two_feeds(server.base), FAST, lambda n, d, t, f: seen.append((n, f)))
    by = {r.name: r for r in results}
    assert by["debian-dsa"].sha256 == hashlib.sha256(dsa).hexdigest()
    assert by["debian-dsa"].verified == ["length", "md5 (published by the server)"]
    assert ("debian-dsa", True) in seen and ("ubuntu", True) in seen
    with VulnStore(db) as store:
        sources = {s.name: s for s in store.sources()}
        assert sources["debian-dsa"].url == f"{server.base}/dsa"
        assert sources["debian-dsa"].sha256 == hashlib.sha256(dsa).hexdigest()
        assert sources["ubuntu"].records == by["ubuntu"].records > 0
        assert store.records("ubuntu", "jammy", ["curl"])
        assert store.records("debian", "bullseye", ["openssl"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.sqlite", "v.sqlite.lock"]
    # downloaded feeds are current as of the download, however old their newest record
    status = store_status(db)
    assert status.freshness == "current" and status.age_days == 0
    assert status.data_date == min(s.fetched_at for s in status.sources)

    # again: the DSA list is asked for conditionally and answered "not modified"
    again = {r.name: r for r in update(db, two_feeds(server.base), FAST)}
    assert again["debian-dsa"].not_modified and again["debian-dsa"].records == by["debian-dsa"].records
    assert server.requests[-2]["if-none-match"] == '"v1"'
    with VulnStore(db) as store:
        assert {s.name for s in store.sources()} == {"debian-dsa", "ubuntu"}


def _store(server: Server, db: Path) -> bytes:
    server.routes.update({"/dsa": Route((DATA / "DSA-list").read_bytes()),
                          "/all.zip": Route(osv_zip())})
    update(db, two_feeds(server.base), FAST)
    return db.read_bytes()


def _refused_port() -> tuple[socket.socket, int]:
    """A port bound but not listening: connecting is refused, and nothing else can take it."""
    sock = socket.socket()
    sock.bind((LOOPBACK, 0))
    return sock, sock.getsockname()[1]


@pytest.mark.parametrize("case, error, message", [
    ("404", FetchFailure, r"ubuntu \(http://127\.0\.0\.1:\d+/all\.zip\): HTTP 404 Not Found"),
    ("cut", FetchFailure, r"truncated: 100 of the \d+ bytes announced arrived"),
    ("cut-zip", FetchFailure, r"truncated"),
    ("corrupt", ImportFailure, r"ubuntu .*corrupt or not the expected feed"),
    ("bad-md5", FetchFailure, r"corrupt: MD5 .* differs from the published"),
    ("wrong-format", ImportFailure, r"expected osv, got debian-dsa-list"),
    ("refused", FetchFailure, r"connection refused"),
    ("timeout", FetchFailure, r"no answer within 0\.5 s \(timeout\)"),
    ("ftp-redirect", FetchFailure, r"redirected to ftp://127\.0\.0\.1/all\.zip: only http\(s\) is fetched"),
])
def test_a_failed_update_keeps_the_previous_store(server: Server, tmp_path: Path, case: str,
                                                  error: type[VulnDBError], message: str) -> None:
    db = tmp_path / "v.sqlite"
    before = _store(server, db)
    zipped = osv_zip()
    specs = two_feeds(server.base)
    holder = None
    if case == "404":
        del server.routes["/all.zip"]
    elif case == "cut":
        server.routes["/dsa"] = Route((DATA / "DSA-list").read_bytes() * 3, cut=100)
    elif case == "cut-zip":
        server.routes["/all.zip"] = Route(zipped, cut=len(zipped) - 10)
    elif case == "corrupt":
        server.routes["/all.zip"] = Route(zipped[:40] + b"\x00" * 64 + zipped[104:])
    elif case == "bad-md5":
        server.routes["/all.zip"] = Route(zipped, md5=base64.b64encode(b"0" * 16).decode())
    elif case == "wrong-format":
        server.routes["/all.zip"] = Route((DATA / "DLA-list").read_bytes())
    elif case == "refused":
        holder, port = _refused_port()
        specs = feeds.select(["debian-dsa"], {"debian-dsa": f"http://{LOOPBACK}:{port}/dsa"}, "")
    elif case == "timeout":
        server.routes["/all.zip"] = Route(zipped, stall=True)
    elif case == "ftp-redirect":
        server.routes["/all.zip"] = Route(b"", location="ftp://127.0.0.1/all.zip")
    try:
        with pytest.raises(error, match=message):
            update(db, specs, FAST)
    finally:
        if holder:
            holder.close()
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.sqlite", "v.sqlite.lock"]


def test_size_and_time_limits(server: Server, tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    before = _store(server, db)
    with pytest.raises(FetchFailure, match=r"debian-dsa .*: \d+ bytes announced, more than the limit of 100"):
        update(db, two_feeds(server.base), Limits(timeout=0.5, max_seconds=20, max_bytes=100))
    server.routes["/dsa"] = Route((DATA / "DSA-list").read_bytes(), trickle=True)
    with pytest.raises(FetchFailure, match=r"debian-dsa .*: not finished after 1 s \(time limit\)"):
        update(db, two_feeds(server.base), Limits(timeout=0.5, max_seconds=1, max_bytes=10**6))
    assert db.read_bytes() == before


def test_a_feed_shrunk_below_half_is_refused_unless_allowed(server: Server, tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    before = _store(server, db)
    first_entry = (DATA / "DSA-list").read_bytes().split(b"\n[")[0] + b"\n"
    server.routes["/dsa"] = Route(first_entry)
    with pytest.raises(ImportFailure, match=r"records where the store holds \d+ \(less than half"):
        update(db, two_feeds(server.base), FAST)
    assert db.read_bytes() == before
    update(db, two_feeds(server.base), FAST, allow_shrink=True)
    with VulnStore(db) as store:
        assert {s.name: s.records for s in store.sources()}["debian-dsa"] == 1


def test_cli_update_through_a_mirror_with_progress_and_one_line_errors(server: Server,
                                                                       tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    server.routes[f"/mirror/salsa.debian.org{DSA_PATH}"] = Route((DATA / "DSA-list").read_bytes())
    runner = CliRunner()
    args = ["vulndb", "update", "--source", "debian-dsa", "--mirror", f"{server.base}/mirror",
            "--timeout", "0.5", "--vulndb", str(db)]
    out = runner.invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert "debian-dsa: downloading" in out.stderr and "debian-dsa: 5 records" in out.stdout
    assert "sha256 " in out.stdout
    before = db.read_bytes()
    del server.routes[f"/mirror/salsa.debian.org{DSA_PATH}"]
    out = runner.invoke(cli, args)
    assert out.exit_code == 2
    errors = [line for line in out.stderr.splitlines() if line.startswith("smbaudit:")]
    assert errors == [f"smbaudit: update failed, the store is unchanged: debian-dsa "
                      f"({server.base}/mirror/salsa.debian.org{DSA_PATH}): HTTP 404 Not Found"]
    assert db.read_bytes() == before
    status = runner.invoke(cli, ["vulndb", "status", "--vulndb", str(db)])
    assert "debian-dsa" in status.output and " d\n" in status.output  # each source's age
    listed = runner.invoke(cli, ["vulndb", "update", "--list", "--mirror", "https://m.example/v"])
    assert "https://m.example/v/security-tracker.debian.org/tracker/data/json" in listed.output
    bad = runner.invoke(cli, ["vulndb", "update", "--source", "nosuch", "--vulndb", str(db)])
    assert bad.exit_code == 2 and "unknown feed 'nosuch'" in bad.stderr


def test_feed_urls_and_mirror_mapping() -> None:
    assert feeds.mirrored("https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip",
                          "http://10.0.0.1/m/") == \
        "http://10.0.0.1/m/osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip"
    assert all(f.url.startswith("https://") for f in feeds.FEEDS)
    with pytest.raises(VulnDBError, match="not an http"):
        feeds.select([], {"ubuntu": "file:///etc/passwd"}, "")
    with pytest.raises(VulnDBError, match="expected NAME=URL"):
        feeds.parse_url_options(["ubuntu"])
    assert [f.name for f in feeds.select([], {}, "", ["redhat", "ubuntu"])] == [
        "debian-tracker", "debian-dsa", "debian-dla", "almalinux", "rocky", "alpine"]
    with pytest.raises(VulnDBError, match="no feed left"):
        feeds.select(["ubuntu"], {}, "", ["ubuntu"])


def test_https_certificates_are_verified_and_never_downgraded(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", LOOPBACK)
    cert = make_cert(tmp_path / "pki", weak=False)
    db = tmp_path / "v.sqlite"
    with serving(cert) as tls, serving() as plain:
        tls.routes["/dsa"] = Route((DATA / "DSA-list").read_bytes())
        spec = feeds.select(["debian-dsa"], {"debian-dsa": f"{tls.base}/dsa"}, "")
        with pytest.raises(FetchFailure, match="TLS certificate not trusted"):
            update(db, spec, FAST)  # signed by a CA the system does not trust
        assert not db.exists()
        monkeypatch.setenv("SSL_CERT_FILE", str(cert.ca))  # the site's own CA, the usual way
        assert update(db, spec, FAST)[0].records == 5
        before = db.read_bytes()
        plain.routes["/dsa"] = Route((DATA / "DSA-list").read_bytes())
        tls.routes["/moved"] = Route(b"", location=f"{plain.base}/dsa")
        moved = feeds.select(["debian-dsa"], {"debian-dsa": f"{tls.base}/moved"}, "")
        with pytest.raises(FetchFailure, match=r"redirected from https to http://127\.0\.0\.1:\d+/dsa: refused"):
            update(db, moved, FAST)
        assert db.read_bytes() == before
        assert not [r for r in plain.requests if r["path"] == "/dsa"]


def test_progress_bar_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    from smbaudit.cli.vulndb import _ProgressBar
    bar = _ProgressBar()
    bar.tty = True
    bar("ubuntu", 512 * 1024, 2 * 1024 * 1024, False)
    bar("ubuntu", 2 * 1024 * 1024, 2 * 1024 * 1024, True)
    bar("debian-dsa", 0, 0, True)  # 304 Not Modified
    err = capsys.readouterr().err
    assert "\rubuntu: [#######.......................] 512.0 kB of 2.0 MB" in err
    assert "\rubuntu: 2.0 MB in " in err and "debian-dsa: not modified" in err


def test_a_store_path_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder\n")
    db = tmp_path / "file" / "v.sqlite"
    runner = CliRunner()
    for args in (["vulndb", "update", "--url", "debian-dsa=http://127.0.0.1:9/dsa", "--source",
                  "debian-dsa", "--vulndb", str(db)],
                 ["vulndb", "import", str(DATA / "DSA-list"), "--vulndb", str(db)],
                 ["vulndb", "export", str(db), "--vulndb", str(_store_from_fixture(tmp_path))]):
        out = runner.invoke(cli, args)
        assert out.exit_code == 2 and "Traceback" not in out.output, out.output
        assert out.stderr.startswith("smbaudit: ") and out.stderr.count("\n") == 1
        assert "cannot write" in out.stderr


def _store_from_fixture(tmp_path: Path) -> Path:
    from smbaudit.vulndb import build
    db = tmp_path / "ok.sqlite"
    build.import_paths(db, [DATA / "DSA-list"])
    return db


def test_a_sites_checksum_list_is_checked(server: Server, tmp_path: Path) -> None:
    dsa = (DATA / "DSA-list").read_bytes()
    digest = hashlib.sha256(dsa).hexdigest()
    server.routes[f"/mirror/salsa.debian.org{DSA_PATH}"] = Route(dsa)
    spec = feeds.select(["debian-dsa"], {}, f"{server.base}/mirror")
    db = tmp_path / "v.sqlite"
    sums = f"{server.base}/mirror/SHA256SUMS"
    server.routes["/mirror/SHA256SUMS"] = Route(
        f"{'0' * 64}  ./security-tracker.debian.org/tracker/data/json\n"
        f"{digest} *./salsa.debian.org{DSA_PATH}\n".encode())
    result = update(db, spec, FAST, checksums=sums)
    assert "sha256 (checksum list)" in result[0].verified
    before = db.read_bytes()
    server.routes["/mirror/SHA256SUMS"] = Route(f"{'1' * 64}  salsa.debian.org{DSA_PATH}\n".encode())
    with pytest.raises(FetchFailure, match=f"corrupt: sha256 {digest} differs from 1{{64}} in the checksum list"):
        update(db, spec, FAST, checksums=sums)
    server.routes["/mirror/SHA256SUMS"] = Route(f"{digest}  other/file\n".encode())
    with pytest.raises(FetchFailure, match="debian-dsa .*: not in the checksum list"):
        update(db, spec, FAST, checksums=sums)
    server.routes["/mirror/SHA256SUMS"] = Route(b"<html>not found</html>\n")
    with pytest.raises(FetchFailure, match="names no sha256"):
        update(db, spec, FAST, checksums=sums)
    assert db.read_bytes() == before


def test_a_store_of_another_schema_or_damaged_is_replaced_by_an_update(server: Server,
                                                                        tmp_path: Path) -> None:
    import sqlite3
    server.routes["/dsa"] = Route((DATA / "DSA-list").read_bytes())
    db = tmp_path / "v.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
                       "INSERT INTO meta VALUES ('schema_version', '0');")
    conn.close()
    runner = CliRunner()
    args = ["vulndb", "update", "--url", f"debian-dsa={server.base}/dsa", "--source", "debian-dsa",
            "--vulndb", str(db)]
    out = runner.invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert "has store schema 0" in out.stderr and "a new store is built in its place" in out.stderr
    with VulnStore(db) as store:
        assert [s.name for s in store.sources()] == ["debian-dsa"]
    db.write_bytes(b"not a database at all\n")
    assert runner.invoke(cli, args).exit_code == 0
    with VulnStore(db) as store:
        assert [s.name for s in store.sources()] == ["debian-dsa"]
