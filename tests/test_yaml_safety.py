"""Safe loading: YAML aliases are refused in every file smbaudit reads, errors never expand user
values without bound, and bad input ends with exit 2 at once (no bomb, no hang, no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from smbaudit import yamlload
from smbaudit.errors import FieldError, InputFileError


def alias_bomb(levels: int = 8) -> str:
    """A few hundred bytes that expand to 9**levels strings when aliases are resolved."""
    lines = ['x0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


BOMB = alias_bomb()
PACK = "checks:\n  - id: t.x\n    title: *a7\n"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMBAUDIT")}
    return subprocess.run([sys.executable, "-m", "smbaudit", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("kind", ["waivers", "profile", "checks"])
def test_an_alias_bomb_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    bad = tmp_path / "bad.yaml"
    body = {"waivers": "waivers:\n  - check: x\n    justification: *a7\n",
            "profile": "targets: *a7\n", "checks": PACK}[kind]
    bad.write_text(BOMB + body)
    flag = {"waivers": "--waivers", "profile": "--profile", "checks": "--checks"}[kind]
    result = _run("scan", f"dir:{tree}", flag, str(bad), "-o", str(tmp_path / "out"),
                  "--no-history", "-q", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{bad}:2: YAML aliases (*name) are not accepted" in result.stderr
    assert len(result.stderr) < 2000
    assert not (tmp_path / "out").exists()


def test_catalogs_and_questionnaires_refuse_aliases_too(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.yaml"
    bad.write_text("base: &b {id: x}\nrequirements:\n  - *b\n")
    with pytest.raises(InputFileError, match=r"catalog.yaml:3: YAML aliases"):
        yamlload.load_file(bad)
    with pytest.raises(InputFileError, match="aliases"):
        yamlload.load_text("a: &x {k: 1}\nb:\n  <<: *x\n", "merge.yaml")
    # an ampersand in text is not an anchor
    assert yamlload.load_text("title: R&D && more\n", "ok.yaml") == {"title": "R&D && more"}


@pytest.mark.parametrize("text", ["[" * 990 + "]" * 990, "[" * 100_000 + "]" * 100_000,
                                  "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 1200))])
def test_deep_nesting_is_an_input_error(text: str) -> None:
    with pytest.raises(InputFileError) as err:
        yamlload.load_text(text, "deep.yaml")
    assert len(str(err.value)) < 300


def test_messages_quoting_user_values_are_bounded() -> None:
    err = FieldError("p.yaml", 3, "f" * 10_000, "value " + "v" * 1_000_000 + " is wrong")
    assert len(str(err)) < 1000
    assert "more characters" in str(err)


def test_only_regular_files_are_loaded(tmp_path: Path) -> None:
    fifo = tmp_path / "waivers.yaml"
    os.mkfifo(fifo)  # opening it for reading would block forever
    with pytest.raises(InputFileError, match="not a regular file"):
        yamlload.load_file(fifo)
    with pytest.raises(InputFileError, match="cannot read"):
        yamlload.load_file(tmp_path)


def test_oversized_files_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlload, "MAX_YAML_BYTES", 1000)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 2000 + "\n")
    with pytest.raises(InputFileError, match="larger than 1000 bytes; not a smbaudit file"):
        yamlload.load_file(big)


def test_a_file_with_many_problems_prints_a_bounded_list(tmp_path: Path) -> None:
    bad = tmp_path / "waivers.yaml"
    bad.write_text("waivers:\n" + "".join(f"  - {{check: c{i}}}\n" for i in range(2000)))
    result = _run("scan", f"dir:{tmp_path}", "--waivers", str(bad), "--no-history", "-q",
                  "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) <= 52 and lines[-1].startswith("  ... and ") and lines[-1].endswith(" more")
