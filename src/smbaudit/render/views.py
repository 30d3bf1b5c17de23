"""What several renderers show alike: accepted risks (waivers), each target's top risks, the
score trend's geometry."""

from __future__ import annotations

from dataclasses import dataclass, field

from smbaudit.history import HistorySection, TrendPoint
from smbaudit.models import Finding, Status
from smbaudit.report import Report
from smbaudit.scoring import GRADE_BANDS, WORST_BAND_FROM
from smbaudit.waivers import WaiverEntry

TOP_PER_TARGET = 5


@dataclass
class WaiverView:
    """Waivers as a report shows them: failing findings accepted by a live waiver, those whose
    waiver expired (counted again), and waiver entries that matched no failing finding."""

    accepted: list[Finding] = field(default_factory=list)
    expired: list[Finding] = field(default_factory=list)
    unmatched: list[WaiverEntry] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.accepted or self.expired or self.unmatched or self.files)


def waivers(report: Report) -> WaiverView:
    failing = [f for f in report.findings_sorted() if f.status is Status.FAIL and f.waiver]
    section = report.waivers
    return WaiverView(
        accepted=[f for f in failing if f.waived],
        expired=[f for f in failing if not f.waived],
        unmatched=section.unmatched if section else [],
        files=list(section.files) if section else [],
    )


def top_by_target(report: Report, limit: int = TOP_PER_TARGET) -> dict[str, list[Finding]]:
    """Each target's riskiest counted failures, in the order the targets were given."""
    tops: dict[str, list[Finding]] = {t.name: [] for t in report.targets}
    for f in report.counted_failures():
        bucket = tops.setdefault(f.target, [])
        if len(bucket) < limit:
            bucket.append(f)
    return {name: items for name, items in tops.items() if items}


# -- the score trend ----------------------------------------------------------------------------

TREND_W, TREND_H, TREND_L, TREND_R, TREND_T, TREND_B = 640, 180, 44, 16, 12, 34
_BAND_COLOURS = {"A": "#e9f7ef", "B": "#f4fbf6", "C": "#fef5e7", "D": "#fdf0e6", "F": "#fbeeee"}


@dataclass(frozen=True)
class TrendDot:
    x: float
    y: float
    point: TrendPoint
    last: bool
    labelled: bool  # its date is written under the axis


@dataclass(frozen=True)
class TrendBand:
    grade: str
    y: float
    height: float
    colour: str


@dataclass
class TrendView:
    """The score trend as an SVG draws it: scores under the current scoring version only (an
    older scan that could not be rescored is left out and counted in `left_out`)."""

    dots: list[TrendDot]
    bands: list[TrendBand]
    ticks: list[tuple[float, float]]  # (value, y)
    left_out: int
    width: int = TREND_W
    height: int = TREND_H
    left: int = TREND_L
    right: int = TREND_R
    bottom: int = TREND_B

    @property
    def polyline(self) -> str:
        return " ".join(f"{d.x:.1f},{d.y:.1f}" for d in self.dots)


def _nice_top(value: float) -> float:
    """The axis top: at least the F band's start plus headroom, rounded up to a round number."""
    top = max(value, WORST_BAND_FROM + 10)
    for step in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if top <= step * 10:
            return float(-(-top // step) * step)
    return float(-(-top // 10000) * 10000)


def trend(section: HistorySection | None) -> TrendView | None:
    """The trend chart of a report's history section (None with fewer than two points)."""
    if section is None:
        return None
    scored = [p for p in section.trend if p.score is not None]
    pts = [p for p in scored if p.comparable]
    if len(pts) < 2:
        return None
    top = _nice_top(max(p.score or 0.0 for p in pts))
    plot_h = TREND_H - TREND_T - TREND_B

    def y(v: float) -> float:
        return TREND_T + (top - v) * plot_h / top

    step = (TREND_W - TREND_L - TREND_R) / (len(pts) - 1)
    n = len(pts)
    dots = [TrendDot(x=TREND_L + i * step, y=y(p.score or 0.0), point=p, last=i == n - 1,
                     labelled=i in (0, n - 1) or n <= 6) for i, p in enumerate(pts)]
    bounds = [0.0] + [b for b, _ in GRADE_BANDS] + [top]
    letters = [g for _, g in GRADE_BANDS] + ["F"]
    bands = [TrendBand(g, y(hi), y(lo) - y(hi), _BAND_COLOURS[g])
             for g, lo, hi in zip(letters, bounds, bounds[1:])]
    ticks = sorted({0.0, WORST_BAND_FROM, top / 2, top} if top / 2 != WORST_BAND_FROM
                   else {0.0, WORST_BAND_FROM, top})
    return TrendView(dots=dots, bands=bands, ticks=[(v, y(v)) for v in ticks],
                     left_out=len(scored) - len(pts))
