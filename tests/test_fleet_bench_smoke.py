"""Smoke test for benchmarks/fleet_speed.py and the delay proxy: the result line on canned
data, and one round trip through the proxy on loopback (no timing asserted)."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import threading
from pathlib import Path

from netservers import LOOPBACK, free_port, wait_port

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module  # dataclasses look their module up by name
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_result_line_names_states_and_figures() -> None:
    bench = _load("fleet_speed")
    try:
        run = bench.FleetRun(hosts=10, rtt_ms=10, parallel_hosts=8, jobs=4, wall_s=55.9,
                             cpu_s=29.3, peak_rss_mb=498.6, tree_rss_mb=475.8, returncode=0,
                             states={"assessed": 9, "unreachable": 1}, findings=3270,
                             per_host_s=5.59)
        text = bench.line(run)
        assert "10 hosts @ 10 ms RTT" in text and "55.9 s wall" in text and "5.59 s/host" in text
        assert "9 assessed, 1 unreachable" in text and "498.6 MB" in text
        assert "not run (why)" in bench.line(bench.FleetRun(hosts=1, rtt_ms=10, parallel_hosts=8,
                                                            jobs=4, note="why"))
    finally:
        sys.modules.pop("fleet_speed", None)
        sys.modules.pop("host_speed", None)


def test_delay_proxy_forwards_both_ways() -> None:
    echo = socket.socket()
    echo.bind((LOOPBACK, 0))
    echo.listen(1)

    def serve() -> None:
        for _ in range(5):  # wait_port's probe connection comes first
            try:
                conn, _ = echo.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(100)
                if data:
                    conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    front = free_port()
    proxy = subprocess.Popen([sys.executable, str(BENCH / "delay_proxy.py"), "--many", "1",
                              f"{front}:{echo.getsockname()[1]}"])
    try:
        wait_port(front, proxy)
        with socket.create_connection((LOOPBACK, front), timeout=10) as s:
            s.sendall(b"ping")
            assert s.recv(100) == b"PING"
    finally:
        proxy.kill()
        proxy.wait(timeout=10)
        echo.close()
