"""The one door to subprocesses: an argv list (never a shell), a timeout, capped output."""

from __future__ import annotations

import os
import signal
import subprocess
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
    run_env = dict(_SAFE_ENV)
    if env:
        run_env.update(env)
    try:
        proc = subprocess.Popen(  # noqa: S603 - argv list, no shell
            argv,
            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=run_env,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise ProbeError(f"program not found: {argv[0]}") from exc
    except PermissionError as exc:
        raise ProbeError(f"cannot execute {argv[0]}: {exc}") from exc
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


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=2)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        pass
