"""OpenSSL cipher strings (ciphers(1)) expanded over a table of representative TLS 1.2 suites.

This models what a cipher string *asks for*, independent of the OpenSSL build on the scanned
machine (OpenSSL 3 may not offer RC4 even when asked): a configuration that names weak ciphers
is reported even if today's library happens to refuse them. Semantics: elements separated by
`:`, `,` or spaces; `A+B` is the intersection; no prefix appends, `-` removes (may be re-added),
`!` removes for good, `+` moves to the end; `@STRENGTH`/`@SECLEVEL=n` are ignored. Aliases follow
OpenSSL 1.1+ (3DES is MEDIUM, not HIGH; DEFAULT excludes anonymous, NULL and legacy ciphers).
TLS 1.3 suites are configured separately and are never weak, so they are not listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Suite:
    name: str
    kx: str  # RSA, DHE, ECDHE
    au: str  # RSA, ECDSA, NULL
    enc: str  # AESGCM, AES, CHACHA20, CAMELLIA, 3DES, DES, RC4, NULL
    bits: int
    mac: str  # AEAD, SHA1, SHA256, SHA384, MD5
    export: bool = False

    @property
    def strength(self) -> str:
        if self.export:
            return "EXPORT"
        if self.enc in ("RC4", "3DES"):
            return "MEDIUM"
        if self.enc == "DES" or self.bits < 128:
            return "LOW"
        return "HIGH"


def _s(name: str, kx: str, au: str, enc: str, bits: int, mac: str, export: bool = False) -> Suite:
    return Suite(name, kx, au, enc, bits, mac, export)


SUITES: tuple[Suite, ...] = (
    _s("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE", "ECDSA", "AESGCM", 256, "AEAD"),
    _s("ECDHE-RSA-AES256-GCM-SHA384", "ECDHE", "RSA", "AESGCM", 256, "AEAD"),
    _s("ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE", "ECDSA", "CHACHA20", 256, "AEAD"),
    _s("ECDHE-RSA-CHACHA20-POLY1305", "ECDHE", "RSA", "CHACHA20", 256, "AEAD"),
    _s("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE", "ECDSA", "AESGCM", 128, "AEAD"),
    _s("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE", "RSA", "AESGCM", 128, "AEAD"),
    _s("DHE-RSA-AES256-GCM-SHA384", "DHE", "RSA", "AESGCM", 256, "AEAD"),
    _s("DHE-RSA-CHACHA20-POLY1305", "DHE", "RSA", "CHACHA20", 256, "AEAD"),
    _s("DHE-RSA-AES128-GCM-SHA256", "DHE", "RSA", "AESGCM", 128, "AEAD"),
    _s("ECDHE-ECDSA-AES256-SHA384", "ECDHE", "ECDSA", "AES", 256, "SHA384"),
    _s("ECDHE-RSA-AES256-SHA384", "ECDHE", "RSA", "AES", 256, "SHA384"),
    _s("ECDHE-ECDSA-AES128-SHA256", "ECDHE", "ECDSA", "AES", 128, "SHA256"),
    _s("ECDHE-RSA-AES128-SHA256", "ECDHE", "RSA", "AES", 128, "SHA256"),
    _s("ECDHE-ECDSA-AES256-SHA", "ECDHE", "ECDSA", "AES", 256, "SHA1"),
    _s("ECDHE-RSA-AES256-SHA", "ECDHE", "RSA", "AES", 256, "SHA1"),
    _s("ECDHE-ECDSA-AES128-SHA", "ECDHE", "ECDSA", "AES", 128, "SHA1"),
    _s("ECDHE-RSA-AES128-SHA", "ECDHE", "RSA", "AES", 128, "SHA1"),
    _s("DHE-RSA-AES256-SHA256", "DHE", "RSA", "AES", 256, "SHA256"),
    _s("DHE-RSA-AES128-SHA256", "DHE", "RSA", "AES", 128, "SHA256"),
    _s("DHE-RSA-AES256-SHA", "DHE", "RSA", "AES", 256, "SHA1"),
    _s("DHE-RSA-AES128-SHA", "DHE", "RSA", "AES", 128, "SHA1"),
    _s("AES256-GCM-SHA384", "RSA", "RSA", "AESGCM", 256, "AEAD"),
    _s("AES128-GCM-SHA256", "RSA", "RSA", "AESGCM", 128, "AEAD"),
    _s("AES256-SHA256", "RSA", "RSA", "AES", 256, "SHA256"),
    _s("AES128-SHA256", "RSA", "RSA", "AES", 128, "SHA256"),
    _s("AES256-SHA", "RSA", "RSA", "AES", 256, "SHA1"),
    _s("AES128-SHA", "RSA", "RSA", "AES", 128, "SHA1"),
    _s("CAMELLIA256-SHA", "RSA", "RSA", "CAMELLIA", 256, "SHA1"),
    _s("CAMELLIA128-SHA", "RSA", "RSA", "CAMELLIA", 128, "SHA1"),
    _s("ECDHE-RSA-DES-CBC3-SHA", "ECDHE", "RSA", "3DES", 112, "SHA1"),
    _s("EDH-RSA-DES-CBC3-SHA", "DHE", "RSA", "3DES", 112, "SHA1"),
    _s("DES-CBC3-SHA", "RSA", "RSA", "3DES", 112, "SHA1"),
    _s("ECDHE-RSA-RC4-SHA", "ECDHE", "RSA", "RC4", 128, "SHA1"),
    _s("RC4-SHA", "RSA", "RSA", "RC4", 128, "SHA1"),
    _s("RC4-MD5", "RSA", "RSA", "RC4", 128, "MD5"),
    _s("DES-CBC-SHA", "RSA", "RSA", "DES", 56, "SHA1"),
    _s("EXP-RC4-MD5", "RSA", "RSA", "RC4", 40, "MD5", export=True),
    _s("EXP-DES-CBC-SHA", "RSA", "RSA", "DES", 40, "SHA1", export=True),
    _s("NULL-SHA256", "RSA", "RSA", "NULL", 0, "SHA256"),
    _s("NULL-SHA", "RSA", "RSA", "NULL", 0, "SHA1"),
    _s("NULL-MD5", "RSA", "RSA", "NULL", 0, "MD5"),
    _s("ECDHE-RSA-NULL-SHA", "ECDHE", "RSA", "NULL", 0, "SHA1"),
    _s("ADH-AES256-GCM-SHA384", "DHE", "NULL", "AESGCM", 256, "AEAD"),
    _s("ADH-AES128-SHA", "DHE", "NULL", "AES", 128, "SHA1"),
    _s("AECDH-AES128-SHA", "ECDHE", "NULL", "AES", 128, "SHA1"),
    _s("ADH-DES-CBC3-SHA", "DHE", "NULL", "3DES", 112, "SHA1"),
    _s("ADH-RC4-MD5", "DHE", "NULL", "RC4", 128, "MD5"),
)

Pred = Callable[[Suite], bool]
_LEGACY = ("RC4", "3DES", "DES")


ALIASES: dict[str, Pred] = {
    "ALL": lambda s: s.enc != "NULL",
    "COMPLEMENTOFALL": lambda s: s.enc == "NULL",
    "DEFAULT": lambda s: s.enc != "NULL" and s.au != "NULL" and s.enc not in _LEGACY and not s.export,
    "COMPLEMENTOFDEFAULT": lambda s: s.au == "NULL" or s.enc in _LEGACY,
    "HIGH": lambda s: s.strength == "HIGH",
    "MEDIUM": lambda s: s.strength == "MEDIUM",
    "LOW": lambda s: s.strength == "LOW",
    "EXPORT": lambda s: s.export, "EXP": lambda s: s.export,
    "ENULL": lambda s: s.enc == "NULL", "NULL": lambda s: s.enc == "NULL",
    "ANULL": lambda s: s.au == "NULL",
    "ADH": lambda s: s.kx == "DHE" and s.au == "NULL",
    "AECDH": lambda s: s.kx == "ECDHE" and s.au == "NULL",
    "KRSA": lambda s: s.kx == "RSA", "RSA": lambda s: s.kx == "RSA",
    "ARSA": lambda s: s.au == "RSA",
    "AECDSA": lambda s: s.au == "ECDSA", "ECDSA": lambda s: s.au == "ECDSA",
    "KEDH": lambda s: s.kx == "DHE", "KDHE": lambda s: s.kx == "DHE",
    "EDH": lambda s: s.kx == "DHE" and s.au != "NULL", "DHE": lambda s: s.kx == "DHE" and s.au != "NULL",
    "KEECDH": lambda s: s.kx == "ECDHE", "KECDHE": lambda s: s.kx == "ECDHE",
    "EECDH": lambda s: s.kx == "ECDHE" and s.au != "NULL",
    "ECDHE": lambda s: s.kx == "ECDHE" and s.au != "NULL",
    "ECDH": lambda s: s.kx == "ECDHE",
    "AES": lambda s: s.enc in ("AES", "AESGCM"),
    "AES128": lambda s: s.enc in ("AES", "AESGCM") and s.bits == 128,
    "AES256": lambda s: s.enc in ("AES", "AESGCM") and s.bits == 256,
    "AESGCM": lambda s: s.enc == "AESGCM",
    "CHACHA20": lambda s: s.enc == "CHACHA20",
    "CAMELLIA": lambda s: s.enc == "CAMELLIA",
    "3DES": lambda s: s.enc == "3DES",
    "DES": lambda s: s.enc == "DES",
    "RC4": lambda s: s.enc == "RC4",
    "MD5": lambda s: s.mac == "MD5",
    "SHA1": lambda s: s.mac == "SHA1", "SHA": lambda s: s.mac == "SHA1",
    "SHA256": lambda s: s.mac == "SHA256", "SHA384": lambda s: s.mac == "SHA384",
    "AEAD": lambda s: s.mac == "AEAD",
    "TLSV1.2": lambda s: s.mac in ("AEAD", "SHA256", "SHA384"),
    "TLSV1": lambda s: s.mac in ("SHA1", "MD5"), "SSLV3": lambda s: s.mac in ("SHA1", "MD5"),
}


def _predicate(term: str) -> Pred:
    upper = term.upper()
    if upper in ALIASES:
        return ALIASES[upper]
    return lambda s: s.name.upper() == upper


def expand(cipher_string: str) -> list[str]:
    """The ordered list of table suites a cipher string selects."""
    order: list[Suite] = []
    killed: set[Suite] = set()
    for element in re.split(r"[:,\s]+", cipher_string.strip()):
        if not element or element.startswith("@"):
            continue
        op = element[0] if element[0] in "!-+" else ""
        body = element[1:] if op else element
        preds = [_predicate(t) for t in body.split("+") if t]
        if not preds:
            continue
        matched = [s for s in SUITES if all(p(s) for p in preds)]
        if op == "":
            order.extend(s for s in matched if s not in order and s not in killed)
        elif op == "-":
            order = [s for s in order if s not in matched]
        elif op == "!":
            order = [s for s in order if s not in matched]
            killed.update(matched)
        else:  # "+": move to the end, keeping relative order
            moved = [s for s in order if s in matched]
            order = [s for s in order if s not in matched] + moved
    return [s.name for s in order]
