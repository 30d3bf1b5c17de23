"""Hostile peers: garbage, stalls, early closes and endless banners end in an ERROR finding
within the timeout; no probe hangs or crashes the scan."""

from __future__ import annotations

import time

import pytest

from netservers import (close_early, endless_banner, garbage, hostile, scan_service, stall,
                        tls_stall_mid_handshake)
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
    assert elapsed < 8, elapsed
    assert findings
    got = {f.status.value for f in findings.values()}
    assert got <= {"error", "not_applicable"} and "error" in got, \
        {k: (f.status.value, f.reason) for k, f in findings.items()}
