"""What a store holds and how old it is: for `vulndb status`, scan warnings and the report."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from smbaudit.vulndb.errors import VulnDBError
from smbaudit.vulndb.model import SourceInfo
from smbaudit.vulndb.store import Coverage, VulnStore, default_path

STORE_PROBES = ("package_vulns", "vulndb_status")  # the probes that read the store
WARN_AFTER_DAYS = 7  # older data is warned about
STALE_AFTER_DAYS = 30  # older data becomes a finding
HOW_TO_GET = ("run `smbaudit vulndb update` (internet), or `smbaudit vulndb import FILE...` "
              "with feeds or a bundle made by `smbaudit vulndb export` (air-gapped)")


@dataclass
class StoreStatus:
    path: str
    present: bool
    error: str = ""
    built_at: str = ""
    data_date: str = ""  # how current the data is (VulnStore.data_date)
    age_days: int | None = None
    sources: list[SourceInfo] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.present and not self.error and bool(self.sources)

    @property
    def freshness(self) -> str:
        """missing, stale (> 30 days), aging (> 7 days) or current."""
        if not self.usable or self.age_days is None:
            return "missing"
        if self.age_days > STALE_AFTER_DAYS:
            return "stale"
        if self.age_days > WARN_AFTER_DAYS:
            return "aging"
        return "current"

    def message(self) -> str:
        """One line for a reader: what data the scan used, or why it had none."""
        if not self.present:
            return f"no vulnerability data ({self.path}): {HOW_TO_GET}"
        if self.error:
            return f"vulnerability data unusable: {self.error}"
        if not self.sources:
            return f"vulnerability store {self.path} holds no feed: {HOW_TO_GET}"
        text = f"vulnerability data of {self.data_date[:10]} ({self.age_days} days old)"
        if self.freshness == "stale":
            return f"{text}: older than {STALE_AFTER_DAYS} days, run `smbaudit vulndb update`"
        if self.freshness == "aging":
            return f"{text}: older than {WARN_AFTER_DAYS} days, run `smbaudit vulndb update`"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "present": self.present, "error": self.error,
                "built_at": self.built_at, "data_date": self.data_date, "age_days": self.age_days,
                "freshness": self.freshness, "message": self.message(),
                "sources": [asdict(s) for s in self.sources],
                "coverage": [asdict(c) for c in self.coverage]}


def store_status(path: Path, now: dt.datetime | None = None) -> StoreStatus:
    if not path.exists():
        return StoreStatus(path=str(path), present=False)
    try:
        with VulnStore(path) as store:
            return StoreStatus(path=str(path), present=True, built_at=store.meta("built_at"),
                               data_date=store.data_date(), age_days=store.age_days(now),
                               sources=store.sources(), coverage=store.coverage())
    except VulnDBError as exc:
        return StoreStatus(path=str(path), present=True, error=str(exc))


def probe_options(path: str | None, include_unfixed: bool) -> dict[str, Any]:
    """The scan-wide options the store-reading probes take."""
    options: dict[str, Any] = {"vulndb": str(path or default_path())}
    if include_unfixed:
        options["include_unfixed"] = True
    return options


def report_section(path: str | None) -> dict[str, Any]:
    """The report's statement of the vulnerability data a scan used: date, age, sources."""
    section = store_status(Path(path) if path else default_path()).to_dict()
    section["sources"] = [{k: s[k] for k in ("name", "records", "fetched_at", "newest")}
                          for s in section["sources"]]
    return section
