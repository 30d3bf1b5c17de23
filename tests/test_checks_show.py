"""`smbaudit checks show` and selections: a mistyped check id names the nearest ones."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from smbaudit.cli import cli
from smbaudit.packs import registry


def test_show_a_check() -> None:
    result = CliRunner().invoke(cli, ["checks", "show", "ssh.root-login"])
    assert result.exit_code == 0 and result.output.startswith("ssh.root-login: ")


@pytest.mark.parametrize(("typed", "first"), [
    ("ssh.permitrootlogin", "ssh.root-login"),      # the sshd keyword instead of the id
    ("permit-root-login", "ssh.root-login"),        # without the pack prefix
    ("ssh.weak-cipher", "ssh.weak-ciphers"),        # a letter short
    ("shadow-perms", "files.shadow-permissions"),   # abbreviated
])
def test_unknown_id_suggests_the_nearest(typed: str, first: str) -> None:
    result = CliRunner().invoke(cli, ["checks", "show", typed])
    assert result.exit_code == 2
    line = result.output.strip().splitlines()[-1]
    assert f"no check with id {typed!r}; did you mean {first}" in line, line


def test_nothing_close_says_where_to_look() -> None:
    result = CliRunner().invoke(cli, ["checks", "show", "zzz.qqq"])
    assert result.exit_code == 2 and "did you mean" not in result.output
    assert "smbaudit checks list" in result.output


def test_nearest_keeps_to_a_few_names() -> None:
    names = ["firewall.active", "firewall.default-deny", "firewall.ipv6", "firewall.logging"]
    assert registry.nearest("firewall", names) == names[:3]
    assert registry.nearest("firewal.ipv6", names) == ["firewall.ipv6"]
