"""Hostile peers: garbage, stalls, early closes and endless banners end in an ERROR finding
within the timeout; no probe hangs or crashes the scan."""

from __future__ import annotations

import time

import pytest

from netservers import (close_early, endless_banner, garbage, hostile, scan_service, stall,
                        tls_stall_mid_handshake, trickle)
from smbaudit.targets.base import ServiceTarget

IO_TIMEOUT = 1.0
BEHAVIOURS = {"garbage": garbage, "stall": stall, "close_early": close_early,
              "endless_banner": endless_banner, "tls_stall_mid_handshake": tls_stall_mid_handshake}
SERVICES = {"tls": ("https", "ssl"), "ssh-service": ("ssh", ""), "http": ("http", ""),
            "network/exposure.yaml": ("redis", "")}


@pytest.mark.parametrize("pack", sorted(SERVICES))
@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
def test_hostile_peer_gives_error_in_time(pack: str, behaviour: str) -> None:
    service, tunnel = SERVICES[pack]
    with hostile(BEHAVIOURS[behaviour]) as port:
        target = ServiceTarget(f"127.0.0.1:{port}", "127.0.0.1", port, service, tunnel)
        start = time.monotonic()
        # When the pack's probe talks to the hostile peer, with a 1 s I/O timeout and 6 s deadline
        findings = scan_service(target, [pack], io_timeout=IO_TIMEOUT, probe_timeout=6)
        elapsed = time.monotonic() - start
    # Then it is over well within the deadline and every check is ERROR (or not applicable)
    assert elapsed < 6 + 3, elapsed  # the 6 s deadline plus the engine's bookkeeping
    assert findings
    got = {f.status.value for f in findings.values()}
    assert got <= {"error", "not_applicable"} and "error" in got, \
        {k: (f.status.value, f.reason) for k, f in findings.items()}


@pytest.mark.parametrize("pack", sorted(SERVICES))
def test_trickling_peer_is_cut_at_the_io_timeout(pack: str) -> None:
    # Given a peer that answers one byte every 0.3 s and never finishes
    service, tunnel = SERVICES[pack]
    with hostile(trickle) as port:
        target = ServiceTarget(f"127.0.0.1:{port}", "127.0.0.1", port, service, tunnel)
        start = time.monotonic()
        # When a probe reads from it with a 1 s I/O timeout and a generous 30 s deadline
        findings = scan_service(target, [pack], io_timeout=IO_TIMEOUT, probe_timeout=30)
        elapsed = time.monotonic() - start
    # Then one answer is given 1 s however it trickles: the probe ends long before its deadline
    assert elapsed < 10, elapsed
    got = {f.status.value for f in findings.values()}
    assert got <= {"error", "not_applicable"} and "error" in got, \
        {k: (f.status.value, f.reason) for k, f in findings.items()}


def _ssh_kexinit_then_stall(conn) -> None:  # type: ignore[no-untyped-def]
    """A plausible SSH server up to its KEXINIT, silent after that (paramiko's stage stalls)."""
    import os
    import struct

    def namelist(text: str) -> bytes:
        return struct.pack("!I", len(text)) + text.encode()

    payload = (b"\x14" + os.urandom(16) + namelist("curve25519-sha256@libssh.org")
               + namelist("ssh-ed25519") + namelist("aes128-ctr") * 2 + namelist("hmac-sha2-256") * 2
               + namelist("none") * 2 + namelist("") * 2 + b"\x00" + b"\x00" * 4)
    padding = 8 - (len(payload) + 5) % 8 + 8
    packet = struct.pack("!IB", len(payload) + padding + 1, padding) + payload + b"\x00" * padding
    conn.sendall(b"SSH-2.0-OpenSSH_9.9\r\n" + packet)


def test_ssh_stall_after_kexinit_is_bounded() -> None:
    with hostile(_ssh_kexinit_then_stall) as port:
        target = ServiceTarget(f"127.0.0.1:{port}", "127.0.0.1", port, "ssh")
        start = time.monotonic()
        findings = scan_service(target, ["ssh-service"], io_timeout=IO_TIMEOUT, probe_timeout=6)
        elapsed = time.monotonic() - start
    assert elapsed < 6 + 3, elapsed
    got = {k: f.status.value for k, f in findings.items()}
    # the algorithm lists were read, so those checks are judged; what needs paramiko is not
    assert got["ssh-service.no-weak-kex"] == "pass"
    assert got["ssh-service.no-password-auth"] in ("not_applicable", "error")
