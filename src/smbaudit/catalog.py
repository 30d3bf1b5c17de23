"""Loading plugins and check packs for any command that needs them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from smbaudit.models import CheckDef
from smbaudit.packs import cache
from smbaudit.probes.manager import BUILTIN, PluginSet, load_plugins

if TYPE_CHECKING:
    from smbaudit.packs.loader import RequirementCheck


@dataclass
class Catalog:
    plugins: PluginSet
    checks: list[CheckDef]


def requirement_check() -> RequirementCheck:
    """Validates checks' compliance mappings against the shipped regulation catalogs."""
    from smbaudit.compliance.catalog import load_catalogs, requirement_checker

    return requirement_checker(load_catalogs())


def load_catalog(extra_paths: Sequence[str | Path] = (), *, default_checks: bool = True,
                 plugins: Sequence[str] = ()) -> Catalog:
    """Plugins and check packs, validated. Compliance mappings are checked against the
    regulation catalogs for packs from outside smbaudit (`--checks`, third-party plugins);
    the shipped packs' mappings are checked by the test suite, which saves every start
    from loading the catalogs. Packs validated before and unchanged since come from the pack
    cache (`packs/cache.py`); packs from outside are validated on every start."""
    plugin_set = load_plugins(tuple(plugins))
    paths: list[str | Path] = list(plugin_set.check_dirs) if default_checks else []
    paths.extend(extra_paths)
    foreign = bool(extra_paths) or any(name != BUILTIN for name in plugin_set.loaded)
    schemas = {name: probe.params_schema for name, probe in plugin_set.probes.items()}
    facts = {name: probe.facts for name, probe in plugin_set.probes.items()}

    def load() -> list[CheckDef]:
        from smbaudit.packs import loader

        return loader.load_packs(paths, probe_schemas=schemas,
                                 requirement_check=requirement_check() if foreign else None,
                                 fact_schemas=facts)

    checks = load() if foreign else cache.load_cached(paths, cache.contracts_key(schemas, facts), load)
    return Catalog(plugins=plugin_set, checks=checks)
