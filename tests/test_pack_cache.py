"""The pack cache: a start reads validated packs back unchanged; any change to a pack, the
probes' contracts or the cache entry itself means validating again; broken packs are never
cached."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from smbaudit.catalog import load_catalog
from smbaudit.errors import InputFileError
from smbaudit.models import CheckDef
from smbaudit.packs import cache
from smbaudit.packs.loader import load_packs

PACK = """\
schema: 1
checks:
  - id: demo.one
    title: A good check
    description: d
    category: access_control
    severity: high
    rationale: r
    remediation: fix it
    probe: file
    params: {path: /etc/passwd, list: [1, 2]}
    tags: [a, b]
    location: [path]
    compliance: {pci: ["1.1"]}
    applies:
      os_family: [debian]
      when: {all: [{fact: exists, op: equals, value: true}]}
    problem: "{path} is too open"
    condition:
      any:
        - {fact: mode, op: mode_at_most, value: "0644", message: too open}
        - none:
            - {fact: "items.*.name", op: equals, value: x, quantifier: any, default: 0}
"""

PROBES = {"file": {"type": "object"}}


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv(cache.DISABLE_ENV, raising=False)
    return home


class Loads:
    """load_packs on a folder, counting how often it really ran."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.count = folder, 0

    def __call__(self) -> list[CheckDef]:
        self.count += 1
        return load_packs([self.folder], probe_schemas=PROBES)

    def cached(self, contracts: str = "c1") -> list[CheckDef]:
        return cache.load_cached([self.folder], contracts, self)


def pack_folder(tmp_path: Path, text: str = PACK) -> Path:
    folder = tmp_path / "packs"
    folder.mkdir(exist_ok=True)
    (folder / "one.yaml").write_text(textwrap.dedent(text))
    return folder


def test_a_second_load_comes_from_the_cache_and_equals_the_first(tmp_path: Path, cache_home: Path) -> None:
    loads = Loads(pack_folder(tmp_path))
    first = loads.cached()
    second = loads.cached()
    assert loads.count == 1
    assert second == first == load_packs([loads.folder], probe_schemas=PROBES)
    assert isinstance(second[0].condition.items, tuple) and second[0].applies is not None
    entries = list((cache_home / "smbaudit" / "packs").glob("packs-*.json"))
    assert len(entries) == 1 and (entries[0].stat().st_mode & 0o777) == 0o600


def test_a_changed_pack_or_contract_is_validated_again(tmp_path: Path, cache_home: Path) -> None:
    folder = pack_folder(tmp_path)
    loads = Loads(folder)
    loads.cached()
    pack_folder(tmp_path, PACK.replace("severity: high", "severity: low"))
    assert loads.cached()[0].severity.value == "low"
    loads.cached(contracts="c2")
    assert loads.count == 3
    (folder / "two.yaml").write_text(textwrap.dedent(PACK).replace("demo.one", "demo.two"))
    assert [c.id for c in loads.cached(contracts="c2")] == ["demo.one", "demo.two"]
    assert loads.count == 4


def test_a_broken_pack_is_reported_every_time(tmp_path: Path, cache_home: Path) -> None:
    loads = Loads(pack_folder(tmp_path, PACK.replace("rationale: r", "rationale: r\n    colour: red")))
    for _ in range(2):
        with pytest.raises(InputFileError, match="colour"):
            loads.cached()
    assert loads.count == 2
    assert not list(cache_home.rglob("packs-*.json"))


def test_an_entry_others_can_write_or_that_was_edited_is_not_used(tmp_path: Path, cache_home: Path) -> None:
    loads = Loads(pack_folder(tmp_path))
    loads.cached()
    entry, = cache_home.rglob("packs-*.json")
    os.chmod(entry, 0o666)
    loads.cached()
    assert loads.count == 2
    os.chmod(entry, 0o600)
    doc = json.loads(entry.read_text())
    doc["checks"][0]["severity"] = "critical"
    doc["key"] = "0" * 64
    entry.write_text(json.dumps(doc))
    assert loads.cached()[0].severity.value == "high"
    entry.write_text("{not json")
    assert loads.cached()[0].id == "demo.one"
    assert loads.count == 4


def test_values_json_cannot_hold_are_not_cached(tmp_path: Path, cache_home: Path) -> None:
    loads = Loads(pack_folder(tmp_path, PACK.replace("value: x", "value: 2024-01-31")))
    assert loads.cached() == loads.cached()
    assert loads.count == 2
    assert not list(cache_home.rglob("packs-*.json"))


def test_the_cache_can_be_turned_off(tmp_path: Path, cache_home: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.DISABLE_ENV, "1")
    loads = Loads(pack_folder(tmp_path))
    loads.cached()
    loads.cached()
    assert loads.count == 2 and not cache_home.exists()


def test_the_shipped_catalog_reads_back_equal(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.DISABLE_ENV, "1")
    validated = load_catalog().checks
    monkeypatch.delenv(cache.DISABLE_ENV)
    assert load_catalog().checks == validated  # written
    assert list(cache_home.rglob("packs-*.json"))
    assert load_catalog().checks == validated  # read back


def test_packs_from_outside_are_validated_every_time(tmp_path: Path, cache_home: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(textwrap.dedent(PACK).replace("probe: file", "probe: nosuchprobe"))
    for _ in range(2):
        with pytest.raises(InputFileError, match="unknown probe 'nosuchprobe'"):
            load_catalog([extra])
