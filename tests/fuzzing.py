"""Hypothesis settings and strategies shared by the fuzz tests (tests/test_fuzz_*.py).

Two profiles: `ci` (the default: a few dozen derandomized examples per parser, the whole fuzz
pass well under a minute) and `long` (thousands of random examples per parser), chosen with
SMBAUDIT_FUZZ=long:

    SMBAUDIT_FUZZ=long .venv/bin/python -m pytest tests/test_fuzz_*.py -q

No example database is written (runs leave nothing behind in the checkout).
"""

from __future__ import annotations

import os
import resource

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile("ci", max_examples=100, derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("long", max_examples=2000, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("SMBAUDIT_FUZZ", "ci"))

# Every example must finish within this, and the process must not grow past MEMORY_MB.
EXAMPLE_SECONDS = 10.0
MEMORY_MB = 1500

# Characters that break naive parsers: quotes, escapes, comment and block markers, controls.
NASTY = "\"'\\#;{}[]<>=:,*?@%$!\t\r\x00\x1b\u202e é"
_WORDCHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))


def words(vocabulary: list[str]) -> st.SearchStrategy[str]:
    """A word: a keyword the parser knows, a nasty character run, or anything."""
    return st.one_of(st.sampled_from(vocabulary), st.text(NASTY, min_size=1, max_size=6),
                     st.text(_WORDCHARS, max_size=12), st.integers(-2**40, 2**40).map(str))


def config_text(vocabulary: list[str], sep: str = " ") -> st.SearchStrategy[str]:
    """Configuration-like text: lines of words from the vocabulary mixed with junk."""
    line = st.lists(words(vocabulary), max_size=8).map(sep.join)
    return st.lists(st.one_of(line, st.text(_WORDCHARS, max_size=40)), max_size=25).map("\n".join)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
