"""Targets: this host, offline trees, network services."""

from smbaudit.targets.base import FileStat, HostTarget, ServiceTarget, Target

__all__ = ["FileStat", "HostTarget", "ServiceTarget", "Target"]
