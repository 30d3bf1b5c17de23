"""How far a remote host was audited: every host of a fleet scan ends in one of these states,
kept in its TargetInfo details (`state`, `state_reason`) and shown by every output."""

from __future__ import annotations

from enum import Enum

from smbaudit.errors import TargetError


class HostState(str, Enum):
    ASSESSED = "assessed"
    PARTLY_ASSESSED = "partly assessed"  # connected, but lost or too many checks not assessed
    UNREACHABLE = "unreachable"  # no answer, connection refused, timed out
    REFUSED = "refused"  # login refused (no key or password accepted)
    HOST_KEY_MISMATCH = "host key mismatch"  # possible man-in-the-middle: not connected
    HOST_KEY_UNKNOWN = "host key unknown"  # not in known_hosts: not connected
    NOT_STARTED = "not audited"  # the scan was interrupted before this host's turn

    @property
    def audited(self) -> bool:
        """Whether every planned check of the host could be attempted."""
        return self is HostState.ASSESSED


class ConnectError(TargetError):
    """A host that could not be connected to, with the state that says why."""

    def __init__(self, message: str, state: HostState = HostState.UNREACHABLE):
        super().__init__(message)
        self.state = state
