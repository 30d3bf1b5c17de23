"""Target sources: discovery steps the engine runs beside the probes.

A source is one bounded piece of discovery (a port scan of some addresses, identifying one open
port, nmap version detection of one port). The engine runs it in its worker pool and, as soon
as it returns, plans the probes of the targets it found and runs the further sources it asks
for: a service is probed as soon as it is known, while the rest of the network is still being
discovered.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from smbaudit.models import TargetInfo
from smbaudit.targets.base import Target


@dataclass
class Expansion:
    """What one source step produced."""

    targets: list[Target] = field(default_factory=list)  # ready to probe
    sources: list[TargetSource] = field(default_factory=list)  # further discovery steps
    infos: list[TargetInfo] = field(default_factory=list)  # hosts and ports reported as they are


class TargetSource(ABC):
    """One discovery step. `budget` is the wall-clock seconds it may take at most: past it the
    engine gives up on it and reports `on_timeout()` instead."""

    label: str = ""
    budget: float = 60.0

    @abstractmethod
    def expand(self) -> Expansion:
        """Do the step. Exceptions are reported as `on_error(exc)`."""

    def on_timeout(self) -> Expansion:
        return Expansion()

    def on_error(self, exc: BaseException) -> Expansion:
        return Expansion()
