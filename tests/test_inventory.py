"""Inventories: Ansible INI and YAML (groups, children, ranges, vars precedence), plain host
lists, --limit patterns, and the errors a bad inventory gets (file, line, field)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smbaudit.errors import InputFileError
from smbaudit.targets.inventory import expand_range, load_inventory, select_hosts

INI = """\
# the client's servers
bastion ansible_host=192.0.2.1 ansible_port=2201

[web]
web[01:03] ansible_host=192.0.2.10
web04 ansible_host=192.0.2.14 ansible_user=webadmin

[web:vars]
ansible_user=deploy
ansible_port=2202

[db]
db1 ansible_host=192.0.2.20 ansible_port=2203 ansible_become=yes

[prod:children]
web
db

[prod:vars]
ansible_user=admin
ansible_ssh_private_key_file=keys/prod

[all:vars]
ansible_user=root
"""

YAML = """\
all:
  vars:
    ansible_user: root
  hosts:
    bastion:
      ansible_host: 192.0.2.1
      ansible_port: 2201
  children:
    prod:
      vars:
        ansible_user: admin
        ansible_ssh_private_key_file: keys/prod
      children:
        web:
          vars: {ansible_user: deploy, ansible_port: 2202}
          hosts:
            web[01:03]: {ansible_host: 192.0.2.10}
            web04: {ansible_host: 192.0.2.14, ansible_user: webadmin}
        db:
          hosts:
            db1: {ansible_host: 192.0.2.20, ansible_port: 2203, ansible_become: true}
"""


@pytest.fixture(params=["ini", "yaml"])
def inventory(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    p = tmp_path / ("hosts.ini" if request.param == "ini" else "hosts.yml")
    p.write_text(INI if request.param == "ini" else YAML)
    return p


def test_both_formats_give_the_same_hosts_and_precedence(inventory: Path) -> None:
    hosts = {h.name: h for h in load_inventory(inventory).hosts()}
    assert list(hosts) == ["bastion", "web01", "web02", "web03", "web04", "db1"]
    # all < parent group (prod) < child group (web) < host
    assert (hosts["web02"].user, hosts["web02"].port, hosts["web02"].address) == ("deploy", 2202, "192.0.2.10")
    assert hosts["web04"].user == "webadmin"
    assert (hosts["db1"].user, hosts["db1"].port, hosts["db1"].become) == ("admin", 2203, True)
    assert (hosts["bastion"].user, hosts["bastion"].port, hosts["bastion"].become) == ("root", 2201, False)
    assert hosts["db1"].key_file == str(inventory.parent.resolve() / "keys" / "prod")
    assert hosts["bastion"].key_file is None
    assert set(hosts["web01"].groups) == {"prod", "web"}
    assert hosts["web01"].spec() == "ssh://deploy@192.0.2.10:2202"


@pytest.mark.parametrize("pattern,expected", [
    ("all", ["bastion", "web01", "web02", "web03", "web04", "db1"]),
    ("prod:!db", ["web01", "web02", "web03", "web04"]),
    ("web*,&prod", ["web01", "web02", "web03", "web04"]),
    ("prod:&db", ["db1"]),
    ("~web0[12]", ["web01", "web02"]),
    ("bastion,db1", ["bastion", "db1"]),
    ("all:!web", ["bastion", "db1"]),
])
def test_limit_patterns(inventory: Path, pattern: str, expected: list[str]) -> None:
    assert [h.name for h in select_hosts(load_inventory(inventory), pattern)] == expected


def test_limit_matching_nothing_is_an_error(inventory: Path) -> None:
    with pytest.raises(InputFileError, match="no host matches"):
        select_hosts(load_inventory(inventory), "nosuchgroup")


def test_ranges() -> None:
    assert expand_range("web[1:3]") == ["web1", "web2", "web3"]
    assert expand_range("db-[a:c]") == ["db-a", "db-b", "db-c"]
    assert expand_range("n[08:10]") == ["n08", "n09", "n10"]
    assert expand_range("r[0:10:5]") == ["r0", "r5", "r10"]
    with pytest.raises(InputFileError):
        expand_range("h[0:99999]")


def test_plain_host_list(tmp_path: Path) -> None:
    p = tmp_path / "hosts.yaml"
    p.write_text("hosts:\n  - ssh://admin@192.0.2.5:2222\n  - 192.0.2.6\n"
                 "  - {host: 192.0.2.7, name: files, user: backup, become: true, groups: [nas]}\n")
    inv = load_inventory(p)
    got = [(h.name, h.address, h.port, h.user, h.become) for h in inv.hosts()]
    assert got == [("192.0.2.5", "192.0.2.5", 2222, "admin", False), ("192.0.2.6", "192.0.2.6", None, None, False),
                   ("files", "192.0.2.7", None, "backup", True)]
    assert [h.name for h in select_hosts(inv, "nas")] == ["files"]


@pytest.mark.parametrize("text,where", [
    ("[web]\nweb1 ansible_password=hunter2\n", ":2: [ansible_password]"),
    ("[web:vars]\nansible_become_pass=x\n", ":2: [ansible_become_pass]"),
    ("all:\n  hosts:\n    web1:\n      ansible_ssh_pass: x\n", ":3: [ansible_ssh_pass]"),
    ("[web\nweb1\n", ":1: [section]"),
    ("[web]\nweb1 ansible_port=http\n", ":2: [ansible_port]"),
    ("all:\n  hostz: {}\n", ":2: [all.hostz]"),
    ("hosts:\n  - {host: 192.0.2.1, pasword: x}\n", ":2: [hosts[0].pasword]"),
])
def test_bad_inventories_name_file_line_and_field(tmp_path: Path, text: str, where: str) -> None:
    p = tmp_path / ("inv.yml" if ":\n" in text.split("\n")[0] + "\n" else "inv")
    p.write_text(text)
    with pytest.raises(InputFileError) as err:
        load_inventory(p).hosts()
    assert where in str(err.value), str(err.value)
