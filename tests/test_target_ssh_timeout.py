"""--timeout bounds every read from an SSH peer, including one that answers a byte at a time
(a real sshd on loopback behind a proxy that starts trickling on demand)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netservers import LOOPBACK, needs_marks
from smbaudit.targets.ssh import SSHOptions, SSHTarget
from test_target_ssh import server  # noqa: F401 - the sshd fixture

pytestmark = needs_marks("sshd", root=True)

PROXY_LIFETIME = 60.0  # the proxy closes everything after this, whatever happens


class TrickleProxy:
    """Forwards one TCP connection to `port`; once `trickle` is set, the server's bytes reach
    the client 64 every 0.2 s: each SSH packet comes well within the channel's own timeout,
    but a file of some kilobytes takes far longer than --timeout."""

    def __init__(self, port: int):
        self.upstream = port
        self.trickle = threading.Event()
        self.stop = threading.Event()
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port = self.listener.getsockname()[1]
        self.threads = [threading.Thread(target=self._serve, daemon=True)]
        self.threads[0].start()

    def _serve(self) -> None:
        self.listener.settimeout(PROXY_LIFETIME)
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        upstream = socket.create_connection((LOOPBACK, self.upstream), timeout=10)
        end = time.monotonic() + PROXY_LIFETIME
        for src, dst, slow in ((client, upstream, False), (upstream, client, True)):
            t = threading.Thread(target=self._pump, args=(src, dst, slow, end), daemon=True)
            t.start()
            self.threads.append(t)

    def _pump(self, src: socket.socket, dst: socket.socket, slow: bool, end: float) -> None:
        src.settimeout(0.5)
        try:
            while not self.stop.is_set() and time.monotonic() < end:
                try:
                    data = src.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                if slow and self.trickle.is_set():
                    for i in range(0, len(data), 64):
                        if self.stop.is_set() or time.monotonic() > end:
                            return
                        dst.sendall(data[i:i + 64])
                        time.sleep(0.2)
                else:
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        for t in self.threads:
            t.join(timeout=5)


@pytest.fixture
def proxy(server: tuple[int, Path, Path]) -> Iterator[TrickleProxy]:  # noqa: F811
    p = TrickleProxy(server[0])
    yield p
    p.close()


def test_a_trickling_peer_is_bounded_by_the_timeout(server: tuple[int, Path, Path],  # noqa: F811
                                                    proxy: TrickleProxy, tmp_path: Path) -> None:
    sshd_port, key, known = server
    known_here = tmp_path / "known_hosts"
    known_here.write_text(known.read_text().replace(f"]:{sshd_port} ", f"]:{proxy.port} "))
    t = SSHTarget(f"ssh://root@{LOOPBACK}:{proxy.port}",
                  SSHOptions(key_file=str(key), known_hosts=str(known_here), timeout=2))
    t.connect()
    try:
        big = tmp_path / "eight-kb"
        big.write_bytes(b"x" * 8192)  # 8 KB at 320 bytes a second: about 25 s
        assert t.read_text("/etc/hostname") == Path("/etc/hostname").read_text()
        proxy.trickle.set()
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="--timeout"):
            t.read_bytes(str(big))
        took = time.monotonic() - started
        assert took < PROXY_LIFETIME / 2, took  # ended by --timeout, not by the proxy giving up
        with pytest.raises(OSError, match="connection closed"):
            t.stat("/etc/passwd")  # later reads say why, at once
    finally:
        t.close()
