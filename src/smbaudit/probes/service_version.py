"""Service patch level: the product and version a service announces, against a shipped table
of known-vulnerable and end-of-life ranges (checks/data/service-versions.yaml)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from smbaudit import resources, yamlload
from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import ServiceTarget, Target

TABLE = "service-versions.yaml"
_DISTRO = re.compile(r"(debian|ubuntu|deb\d+u\d+|\+deb|el\d|\.el\d|redhat|red hat|centos|rocky|"
                     r"alma|suse|fedora|freebsd)", re.I)
_EXTRA_PRODUCTS = re.compile(r"\b(OpenSSL|mod_ssl|PHP)/(\d[\w.\-]*)", re.I)


def version_key(version: str) -> list[tuple[int, int | str]]:
    """Upstream version order: numbers numerically, letters after numbers ("1.0.1g" > "1.0.1")."""
    return [(0, int(p)) if p.isdigit() else (1, p.lower()) for p in re.findall(r"\d+|[a-zA-Z]+", version)]


def _lt(a: str, b: str) -> bool:
    return version_key(a) < version_key(b)


def _branch(version: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", version)[:2]]


@cache
def load_table() -> dict[str, Any]:
    path = resources.data_file(TABLE)
    data = yamlload.load_file(path)
    if not isinstance(data, dict) or not isinstance(data.get("products"), list):
        raise ProbeError(f"{path}: not a service version table")
    return data


def match_product(name: str, table: dict[str, Any]) -> dict[str, Any] | None:
    for product in table["products"]:
        if any(re.search(rx, name.strip(), re.I) for rx in product["match"]):
            return dict(product)
    return None


def assess(product: dict[str, Any], version: str) -> dict[str, Any]:
    """Vulnerable ranges and EOL status for one upstream version."""
    vulns = []
    for v in product.get("vulnerabilities", []):
        if v.get("introduced") and _lt(version, str(v["introduced"])):
            continue
        if not _lt(version, str(v["fixed"])):
            continue
        if any(_branch(version) == _branch(str(f)) and not _lt(version, str(f))
               for f in v.get("also_fixed", [])):
            continue
        vulns.append({"id": ",".join(v["cves"]), "cves": list(v["cves"]), "severity": v["severity"],
                      "summary": v["summary"], "fixed_in": str(v["fixed"])})
    eol_below = product.get("eol_below")
    return {"vulnerabilities": vulns,
            "eol": bool(eol_below and _lt(version, str(eol_below))),
            "eol_below": str(eol_below) if eol_below else None}


def _upstream_version(raw: str) -> str:
    m = re.match(r"\s*(\d[\w.]*)", raw)
    return m.group(1).rstrip(".") if m else ""


_VULNERABILITY_FIELDS = {"id": fs.STR, "cves": fs.list_of(fs.STR), "severity": fs.STR,
                         "summary": fs.STR, "fixed_in": fs.STR}
_VULNERABILITY = fs.record_of(_VULNERABILITY_FIELDS)
_COMPONENT_VULNERABILITY = fs.record_of({**_VULNERABILITY_FIELDS, "product": fs.STR,
                                         "version": fs.STR})


class ServiceVersionProbe(Probe):
    """Patch level of a network service from nmap -sV (product, version, extra info).

    Facts: endpoint, product (as announced), version (raw), components (list of {product,
    product_id, version, known, distro_build, vulnerabilities, eol, eol_below}: the service
    itself and libraries it names, e.g. OpenSSL in an Apache Server header), vulnerabilities
    (all components' upstream vulnerabilities, for builds not marked as distribution builds),
    distro_vulnerabilities (same, for distribution builds that may carry backported fixes),
    eol_components (names of end-of-life components), known (a table entry matched), table_as_of.
    """

    name = "service_version"
    description = "service versions against known-vulnerable and end-of-life ranges"
    target_kinds = frozenset({TargetKind.SERVICE})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}

    facts = fs.record(
        endpoint=fs.STR, product=fs.STR, version=fs.STR,
        components=fs.list_of(fs.record(
            product=fs.STR, product_id=fs.nullable(fs.STR), version=fs.STR, known=fs.BOOL,
            distro_build=fs.BOOL, vulnerabilities=fs.list_of(_VULNERABILITY), eol=fs.BOOL,
            eol_below=fs.nullable(fs.STR))),
        known=fs.BOOL,
        vulnerabilities=fs.list_of(_COMPONENT_VULNERABILITY),
        distro_vulnerabilities=fs.list_of(_COMPONENT_VULNERABILITY),
        eol_components=fs.list_of(fs.STR), table_as_of=fs.STR,
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, ServiceTarget):
            raise ProbeError(f"{target.name} is not a network service")
        table = load_table()
        extra = str(target.extra.get("extrainfo", ""))
        distro = bool(_DISTRO.search(f"{target.version} {extra}"))
        found: list[tuple[str, str]] = []
        if target.product:
            found.append((target.product, target.version))
        for m in _EXTRA_PRODUCTS.finditer(f"{target.version} {extra}"):
            found.append((m.group(1), m.group(2)))
        components = []
        for name, raw in found:
            product = match_product(name, table)
            version = _upstream_version(raw)
            entry: dict[str, Any] = {"product": name, "product_id": product["id"] if product else None,
                                     "version": version, "known": product is not None and bool(version),
                                     "distro_build": distro, "vulnerabilities": [], "eol": False,
                                     "eol_below": None}
            if product and version:
                entry.update(assess(product, version))
            components.append(entry)
        return {
            "endpoint": target.endpoint,
            "product": target.product,
            "version": target.version,
            "components": components,
            "known": any(c["known"] for c in components),
            "vulnerabilities": [dict(v, product=c["product"], version=c["version"])
                                for c in components if not c["distro_build"] for v in c["vulnerabilities"]],
            "distro_vulnerabilities": [dict(v, product=c["product"], version=c["version"])
                                       for c in components if c["distro_build"] for v in c["vulnerabilities"]],
            "eol_components": [f"{c['product']} {c['version']} (supported from {c['eol_below']})"
                               for c in components if c["eol"]],
            "table_as_of": str(table.get("as_of", "")),
        }
