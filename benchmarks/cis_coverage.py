#!/usr/bin/env python3
"""How many of each CIS Benchmark's automated recommendations the shipped checks cite.

A recommendation counts as covered when a check cites it under that benchmark's own number,
or cites the recommendation of the same title in another of the benchmarks (the same item under
another number). Automated = "(Automated)" in the title of the control list entry.

Usage: python benchmarks/cis_coverage.py [--controls DIR] [--missing]
       (DIR defaults to <repo>/../shared/reference/cis; --missing lists what is not covered)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from smbaudit import yamlload
from smbaudit.models import TargetKind
from smbaudit.packs import cis
from smbaudit.packs.loader import load_packs
from smbaudit.probes.builtin import builtin_probe_classes

REPO = Path(__file__).resolve().parents[1]


def _controls(folder: Path, key: str) -> tuple[str, dict[str, dict[str, Any]]]:
    doc = yamlload.load_file(folder / f"cis_{key}.yml")
    found: dict[str, dict[str, Any]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for c in items:
            found[str(c["id"])] = c
            walk(c.get("controls", []))

    walk(doc["controls"])
    return str(doc["version"]), found


def _bare(title: str) -> str:
    return re.sub(r"\s*\((Automated|Manual)\)\s*$", "", title).strip()


def _key(id_: str) -> list[int]:
    return [int(x) for x in id_.split(".")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = next((d / "shared/reference/cis" for d in (REPO.parent, REPO.parent.parent)
                    if (d / "shared/reference/cis").is_dir()), REPO.parent / "shared/reference/cis")
    p.add_argument("--controls", type=Path, default=default)
    p.add_argument("--missing", action="store_true", help="list the recommendations not covered")
    args = p.parse_args(argv)
    if not args.controls.is_dir():
        print(f"{args.controls}: no such folder (the CIS control lists)", file=sys.stderr)
        return 2
    probes = {c.name: c for c in builtin_probe_classes()}
    checks = load_packs([REPO / "checks"], {n: c.params_schema for n, c in probes.items()})
    host = sum(1 for c in checks if TargetKind.HOST in probes[c.probe].target_kinds)
    cited: dict[str, set[str]] = {}
    titles: set[str] = set()
    for c in checks:
        for r in c.references:
            ref = cis.parse_reference(r)
            if ref:
                cited.setdefault(ref.key, set()).add(ref.id)
                titles.add(ref.title)
    print(f"{len(checks)} checks loaded, {host} of them for hosts; {sum(1 for c in checks if any(cis.parse_reference(r) for r in c.references))} cite a CIS Linux benchmark")
    for name, key in cis.BENCHMARKS.items():
        version, controls = _controls(args.controls, key)
        automated = sorted((i for i, c in controls.items() if "(Automated)" in c["title"]), key=_key)
        covered = [i for i in automated
                   if i in cited.get(key, set()) or _bare(controls[i]["title"]) in titles]
        print(f"{name} v{version}: {len(covered)} of {len(automated)} automated recommendations "
              f"covered ({len(cited.get(key, set()) & set(automated))} cited under its own numbers)")
        if args.missing:
            for i in automated:
                if i not in covered:
                    print(f"  {i} {_bare(controls[i]['title'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
