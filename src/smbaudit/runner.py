"""The one door to subprocesses: an argv list (never a shell), a timeout, capped output."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
from collections.abc import Callable, Generator
from dataclasses import dataclass

from smbaudit.errors import ProbeError, ProbeTimeout

MAX_OUTPUT = 8 * 1024 * 1024

# A fixed, minimal environment: a scan must not behave differently under a user's locale or PATH.
_SAFE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C",
    "LANG": "C",
}


@dataclass(frozen=True)
class RunResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run(argv: list[str] | tuple[str, ...], timeout: float, *, input_text: str | None = None,
        env: dict[str, str] | None = None) -> RunResult:
    """Run argv with a hard timeout; the whole process group is killed when it runs over.

    Raises ProbeError if the program is missing, ProbeTimeout if it runs past `timeout`.
    """
    if isinstance(argv, str) or not argv:
        raise ValueError("argv must be a non-empty list of strings")
    argv = tuple(str(a) for a in argv)
    proc = _start(argv, with_input=input_text is not None, env=env)
    try:
        out, err = proc.communicate(input=input_text.encode() if input_text is not None else None,
                                    timeout=max(0.01, timeout))
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ProbeTimeout(f"{argv[0]} did not finish within {timeout:.1f}s") from None
    except BaseException:
        _kill_group(proc)
        raise
    return RunResult(
        argv=argv,
        returncode=proc.returncode,
        stdout=out[:MAX_OUTPUT].decode("utf-8", "replace"),
        stderr=err[:MAX_OUTPUT].decode("utf-8", "replace"),
    )


def _start(argv: tuple[str, ...], with_input: bool = False,
           env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """argv started in its own process group, in the fixed environment (plus `env`), stdout and
    stderr piped. Raises ProbeError if the program is missing or cannot be run."""
    try:
        return subprocess.Popen(  # noqa: S603 - argv list, no shell
            argv,
            stdin=subprocess.PIPE if with_input else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**_SAFE_ENV, **(env or {})},
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise ProbeError(f"program not found: {argv[0]}") from exc
    except PermissionError as exc:
        raise ProbeError(f"cannot execute {argv[0]}: {exc}") from exc


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=2)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        pass


@dataclass
class Streamed:
    """What `stream` leaves once its output is read: exit status and (capped) stderr."""

    returncode: int | None = None
    stderr: bytes = b""


def stream(argv: list[str] | tuple[str, ...], check: Callable[[], None], result: Streamed,
           poll: float = 0.2) -> Generator[bytes, None, None]:
    """Run argv and yield its stdout in chunks as they come; `check()` is called at least every
    `poll` seconds and whatever it raises stops the program. The process group is killed when
    the caller stops early; on a full read `result` gets the exit status and stderr (capped at
    MAX_OUTPUT). Raises ProbeError if the program is missing."""
    proc = _start(tuple(str(a) for a in argv))
    assert proc.stdout is not None and proc.stderr is not None
    err = bytearray()
    finished = False
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            sel.register(proc.stderr, selectors.EVENT_READ)
            while sel.get_map():
                check()
                for key, _ in sel.select(timeout=poll):
                    chunk = os.read(key.fd, 1 << 16)
                    if not chunk:
                        sel.unregister(key.fileobj)
                    elif key.fileobj is proc.stdout:
                        yield chunk
                    elif len(err) < MAX_OUTPUT:
                        err += chunk
        while proc.poll() is None:  # both pipes closed: the program is ending
            check()
            try:
                proc.wait(timeout=poll)
            except subprocess.TimeoutExpired:
                pass
        result.returncode = proc.returncode
        result.stderr = bytes(err[:MAX_OUTPUT])
        finished = True
    finally:
        if not finished:
            _kill_group(proc)
        proc.stdout.close()
        proc.stderr.close()
