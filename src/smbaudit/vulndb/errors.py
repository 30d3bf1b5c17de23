"""Errors of the vulnerability store."""

from __future__ import annotations

from smbaudit.errors import SmbauditError


class VulnDBError(SmbauditError):
    """The store cannot be read, built or updated; the message says why in plain words."""


class ImportFailure(VulnDBError):
    """An input file is not in a known format or is damaged (file, line or field named)."""


class FetchFailure(VulnDBError):
    """A feed could not be downloaded or verified; the previous store stays."""
