"""Notifications when the threshold is crossed: a real HTTP server and a real SMTP server on
loopback receive them; nothing is sent when the threshold is not crossed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from smbaudit.cli import cli

PACK = """\
schema: 1
checks:
  - id: t.secret-mode
    title: the secret file is private
    description: d
    category: access_control
    severity: high
    rationale: r
    remediation: chmod 0600 /etc/secret
    probe: file
    params: {path: /etc/secret}
    location: path
    condition: {all: [{fact: mode, op: mode_at_most, value: "0600"}]}
"""


class Hook:
    """A loopback HTTP server that records POSTs (and answers `status`)."""

    def __init__(self, status: int = 204):
        self.posts: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append({"path": self.path, "type": self.headers["Content-Type"],
                                   "json": json.loads(body)})
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Hook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Inbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd checks its own port, so it needs a real one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "tree" / "etc").mkdir(parents=True)
    (tmp_path / "tree" / "etc" / "secret").write_text("s")
    (tmp_path / "tree" / "etc" / "secret").chmod(0o644)
    (tmp_path / "pack.yaml").write_text(PACK)
    return tmp_path


def profile(site: Path, port: int, webhook: str) -> Path:
    p = site / "p.yaml"
    p.write_text(f"""\
targets: [dir:tree]
checks: {{default: false, paths: [pack.yaml]}}
outputs: {{dir: out, formats: [json]}}
history: {{db: h.db}}
log_file: scan.log
notify:
  webhook: {webhook}
  email:
    to: [owner@client-a.example, it@client-a.example]
    from: smbaudit@auditor.example
    smtp_host: 127.0.0.1
    smtp_port: {port}
""")
    return p


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_webhook_and_email_when_threshold_crossed(site: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    with Hook() as hook:
        p = profile(site, port, hook.url)
        code, out = run("scan", "--profile", str(p), "-q")
        assert code == 1, out
        # One JSON POST with what crossed the threshold
        (post,) = hook.posts
        assert post["path"] == "/hook" and post["type"] == "application/json"
        data = post["json"]
        assert data["event"] == "smbaudit.threshold_crossed" and data["grade"] == "B"
        assert [f["check_id"] for f in data["findings"]] == ["t.secret-mode"]
        assert data["reports"] == [str(site / "out" / "report.json")]
        # One e-mail to both recipients through the configured server
        (sender, rcpts, raw), = inbox.messages
        assert sender == "smbaudit@auditor.example"
        assert rcpts == ["owner@client-a.example", "it@client-a.example"]
        msg = message_from_bytes(raw)
        subject = " ".join(str(msg["Subject"]).split())  # unfolded: the fold depends on path length
        assert "score 10 (B)" in subject
        assert "the secret file is private" in msg.get_payload()
        # With nothing new, --fail-on-new is not crossed: no notification
        code, out = run("scan", "--profile", str(p), "--fail-on-new", "high", "-q")
        assert code == 0 and len(hook.posts) == 1 and len(inbox.messages) == 1
        # Fixed: below the threshold, nothing is sent
        (site / "tree" / "etc" / "secret").chmod(0o600)
        assert run("scan", "--profile", str(p), "-q")[0] == 0
        assert len(hook.posts) == 1 and len(inbox.messages) == 1
    log = (site / "scan.log").read_text()
    assert "notified: webhook" in log and "notified: e-mail" in log


def test_failed_notification_is_reported_not_fatal(site: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    with Hook(status=500) as hook:
        code, out = run("scan", f"dir:{site / 'tree'}", "--no-default-checks", "--checks",
                        str(site / "pack.yaml"), "--db", str(site / "h.db"), "-o",
                        str(site / "out"), "--notify-webhook", hook.url, "-q")
    assert code == 1  # the scan's own exit code
    assert "notification failed: webhook" in out and "HTTP 500" in out
    assert len(hook.posts) == 1 and len(inbox.messages) == 0
