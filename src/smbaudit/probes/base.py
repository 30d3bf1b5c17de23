"""Probe interface. A probe collects facts from a target and returns them; it never judges.

Facts are plain JSON-like data (dict / list / str / int / float / bool / None) so that checks
can address them with dotted paths and reports can show them as evidence.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from contextvars import ContextVar
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from smbaudit.errors import ProbeTimeout
from smbaudit.models import TargetKind
from smbaudit.targets.base import Target

Facts = dict[str, Any]

# A probe that collected only part of what it was asked for (a walk cut short, folders it could
# not read) says why under this key. A check that finds a problem in the partial facts still
# fails; one that would pass ends ERROR with this reason, because a pass was not established.
INCOMPLETE = "_incomplete"

# A probe that read most of its input but not all of it lists the facts it could not
# establish under this key: {fact path: plain reason}, e.g. {"empty_password": "/etc/shadow
# is not readable: run as root"}. A path may use `*` for list elements. Every check whose
# condition reads one of these facts (or anything under it) ends ERROR with the reason,
# never pass or not applicable; the other checks on the same facts are evaluated as usual.
UNREADABLE = "_unreadable"


def mark_unreadable(facts: Facts, paths: list[str], reason: str) -> None:
    """Record that `paths` could not be established, and why (see UNREADABLE)."""
    marked = facts.setdefault(UNREADABLE, {})
    for path in paths:
        marked.setdefault(path, reason)


@dataclass
class ProbeContext:
    """What the engine gives a probe: its deadline and the per-connection timeout.

    A probe must honour both: pass `io_timeout()` to every socket and subprocess, and call
    `check_deadline()` between steps of long loops. The engine `cancel()`s the context of a
    run it abandons, so the next check stops it (cooperative cancellation). The context
    created last in a thread is also its *current* one (`current_context()`): shared parsing
    helpers check the deadline inside their loops without it being passed down to them.
    """

    deadline: float  # time.monotonic() value
    timeout: float  # seconds allowed for one connection / command
    options: dict[str, Any] = field(default_factory=dict)  # scan-wide settings (e.g. nmap timing)
    cancelled: bool = False

    def __post_init__(self) -> None:
        _CURRENT.set(self)

    def cancel(self) -> None:
        """Ask the probe to stop at its next deadline check."""
        self.cancelled = True

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def io_timeout(self) -> float:
        """The timeout for one I/O step: the configured one, never past the deadline."""
        return max(0.05, min(self.timeout, self.remaining()))

    def check_deadline(self) -> None:
        if self.cancelled:
            raise ProbeTimeout("probe stopped: it ran past its deadline and was abandoned")
        if self.remaining() <= 0:
            raise ProbeTimeout("probe ran past its deadline")


_CURRENT: ContextVar[ProbeContext | None] = ContextVar("smbaudit_probe_context", default=None)


def current_context() -> ProbeContext | None:
    """The ProbeContext of the probe running in this thread, if any."""
    return _CURRENT.get()


class Probe(ABC):
    """Base of every probe, built-in or third-party.

    Subclasses set `name` (what a check's `probe:` names), `target_kinds` (HOST and/or
    SERVICE), optionally `services` (for SERVICE probes: which service names it speaks to,
    e.g. {"ssh"}; empty means any) and `params_schema` (a JSON Schema for the `params:` a
    check may pass; validated when check packs load).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    target_kinds: ClassVar[frozenset[TargetKind]] = frozenset({TargetKind.HOST})
    services: ClassVar[frozenset[str]] = frozenset()
    params_schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False}
    live_only: ClassVar[bool] = False  # True when an offline tree cannot provide the facts
    # True for probes that walk whole trees: the engine starts them first, so the longest
    # runs overlap the many short ones instead of starting last (matters over SSH).
    long_running: ClassVar[bool] = False
    # True for probes that hold tens of MB while they run (whole package indexes): a fleet
    # scan runs only a few of them at once across all its hosts.
    memory_heavy: ClassVar[bool] = False
    # The facts contract: a JSON Schema (type / properties / items / additionalProperties /
    # enum) of the facts `collect` returns. Pack loading rejects a condition on a fact path the
    # schema cannot produce. Every probe declares it; None only for legacy third-party probes.
    # The INCOMPLETE key is implied (see docs/writing-probes.md; probes/factschema.py helps).
    facts: ClassVar[dict[str, Any] | None] = None

    def applies_to(self, target: Target) -> bool:
        """Whether this probe can be asked about `target` at all (kind and service match)."""
        if target.kind not in self.target_kinds:
            return False
        if target.kind is TargetKind.SERVICE and self.services:
            return self.service_matches(target)
        return True

    def service_matches(self, target: Target) -> bool:
        return getattr(target, "service", "") in self.services

    @abstractmethod
    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        """Return facts about `target`. Raise ProbeError (or let OSError escape) on failure."""
