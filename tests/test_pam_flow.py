"""PAM stacks as libpam runs them: control values ([success=N default=ignore], done, die, bad,
reset), jumps, `include` (spliced, jumps count across it), `substack` (one line to its caller)
and `-type` lines. The stacks are Debian 12's own common-* files as pam-auth-update writes them
(stock, and with the CIS faillock / pwquality / pwhistory profiles), written out here by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hostsys_util import collect
from smbaudit.probes._pam_flow import Node, analyse, parse_control
from smbaudit.targets.posixfs import DirectoryTarget

HEADER = """#
# /etc/pam.d/{name} - {what}
#
# here are the per-package modules (the "Primary" block)
"""
FOOTER = "# end of pam-auth-update config\n"

# Debian 12 as debootstrap installs it (libpam-runtime 1.5.2-6).
STOCK = {
    "common-auth": ("auth\t[success=1 default=ignore]\tpam_unix.so nullok\n"
                    "# here's the fallback if no module succeeds\n"
                    "auth\trequisite\t\t\tpam_deny.so\n"
                    "auth\trequired\t\t\tpam_permit.so\n"),
    "common-account": ("account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so \n"
                       "account\trequisite\t\t\tpam_deny.so\n"
                       "account\trequired\t\t\tpam_permit.so\n"),
    "common-password": ("password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt\n"
                        "password\trequisite\t\t\tpam_deny.so\n"
                        "password\trequired\t\t\tpam_permit.so\n"),
    "common-session": ("session\t[default=1]\t\t\tpam_permit.so\n"
                       "session\trequisite\t\t\tpam_deny.so\n"
                       "session\trequired\t\t\tpam_permit.so\n"
                       "session\trequired\tpam_unix.so \n"),
}

# After the CIS Debian 12 v1.1.0 section 5.3 profiles (faillock, faillock_notify, pwquality,
# pwhistory) have been enabled with pam-auth-update: pam_unix's jump is recomputed to land after
# pam_deny.
CIS = {
    "common-auth": ("auth\trequisite\t\t\tpam_faillock.so preauth\n"
                    "auth\t[success=2 default=ignore]\tpam_unix.so\n"
                    "auth\t[default=die]\t\t\tpam_faillock.so authfail\n"
                    "auth\trequisite\t\t\tpam_deny.so\n"
                    "auth\trequired\t\t\tpam_permit.so\n"),
    "common-account": ("account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so \n"
                       "account\trequisite\t\t\tpam_deny.so\n"
                       "account\trequired\t\t\tpam_permit.so\n"
                       "account\trequired\t\t\tpam_faillock.so\n"),
    "common-password": ("password\trequisite\t\t\tpam_pwquality.so retry=3\n"
                        "password\trequisite\t\t\tpam_pwhistory.so remember=24 enforce_for_root "
                        "try_first_pass use_authtok\n"
                        "password\t[success=1 default=ignore]\tpam_unix.so obscure use_authtok "
                        "try_first_pass yescrypt\n"
                        "password\trequisite\t\t\tpam_deny.so\n"
                        "password\trequired\t\t\tpam_permit.so\n"),
    "common-session": STOCK["common-session"],
}

LOGIN = ("auth       optional   pam_faildelay.so  delay=3000000\n"
         "auth       requisite  pam_nologin.so\n"
         "@include common-auth\n"
         "@include common-account\n"
         "session    required     pam_loginuid.so\n"
         "@include common-session\n"
         "@include common-password\n")


def tree(tmp_path: Path, files: dict[str, str]) -> DirectoryTarget:
    pam = tmp_path / "etc" / "pam.d"
    pam.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        text = (HEADER.format(name=name, what="PAM stack") + body + FOOTER
                if name.startswith("common-") else body)
        (pam / name).write_text(text)
    return DirectoryTarget("dir:pam", str(tmp_path))


def lines(facts: dict[str, Any], service: str) -> list[tuple[str, str, str, bool, bool]]:
    return [(m["type"], m["module"], " ".join(m["args"]), m["reachable"], m["enforced"])
            for m in facts["services"][service]["modules"]]


def test_stock_debian_common_files(tmp_path: Path) -> None:
    facts = collect("pam", tree(tmp_path, {**STOCK, "login": LOGIN}))
    assert lines(facts, "common-auth") == [
        ("auth", "pam_unix", "nullok", True, True),  # every login that succeeds passed it
        ("auth", "pam_deny", "", True, False),  # runs only when pam_unix failed
        ("auth", "pam_permit", "", True, True)]
    # [default=1] on pam_permit (which always succeeds) always jumps over pam_deny
    assert lines(facts, "common-session")[1] == ("session", "pam_deny", "", False, False)
    assert facts["enforced"]["auth"] == ["pam_nologin", "pam_permit", "pam_unix"]
    assert facts["unix"]["nullok"] is True
    assert not facts["lockout"]["present"] and not facts["pwquality"]["enforced"]


def test_cis_profiles_are_in_force(tmp_path: Path) -> None:
    facts = collect("pam", tree(tmp_path, CIS))
    auth = lines(facts, "common-auth")
    assert auth[0] == ("auth", "pam_faillock", "preauth", True, True)
    # authfail runs after a failed password (and ends the stack there); a success jumps over it
    assert auth[2] == ("auth", "pam_faillock", "authfail", True, False)
    assert facts["lockout"]["enforced"] is True
    assert facts["pwquality"]["enforced"] is True
    assert facts["password_history"]["enforced"] is True
    assert facts["password_history"]["remember"] == 24
    assert facts["unix"]["nullok"] is False


def test_a_jump_past_the_module_leaves_it_out_of_force(tmp_path: Path) -> None:
    """pam_pwquality inserted between pam_unix and pam_deny with pam_unix's jump raised to 2
    (as a hand edit or a stale pam-auth-update run leaves it): a good password change jumps over
    pam_pwquality, which runs only when pam_unix has already failed."""
    files = dict(STOCK)
    files["common-password"] = ("password\t[success=2 default=ignore]\tpam_unix.so obscure yescrypt\n"
                                "password\trequisite\t\t\tpam_pwquality.so retry=3\n"
                                "password\trequisite\t\t\tpam_deny.so\n"
                                "password\trequired\t\t\tpam_permit.so\n")
    facts = collect("pam", tree(tmp_path, files))
    assert facts["pwquality"]["present"] is True  # it can run ...
    assert facts["pwquality"]["enforced"] is False  # ... but no successful change needs it
    assert "pam_pwquality" in facts["modules"]


def test_sufficient_permit_bypasses_everything_after_it(tmp_path: Path) -> None:
    files = dict(CIS)
    files["common-auth"] = "auth\tsufficient\tpam_permit.so\n" + CIS["common-auth"]
    facts = collect("pam", tree(tmp_path, files))
    assert facts["enforced"]["auth"] == ["pam_permit"]
    assert facts["lockout"]["enforced"] is False
    # the lines still run (pam_permit only succeeds: they do not) -> nothing else reachable
    assert [r for *_, r, _ in lines(facts, "common-auth")] == [True] + [False] * 5


def test_optional_preauth_does_not_lock(tmp_path: Path) -> None:
    files = dict(CIS)
    files["common-auth"] = CIS["common-auth"].replace("requisite\t\t\tpam_faillock.so preauth",
                                                      "optional\tpam_faillock.so preauth")
    facts = collect("pam", tree(tmp_path, files))
    assert facts["lockout"]["present"] is True
    assert facts["lockout"]["enforced"] is False


def test_faillock_without_authfail_counts_nothing(tmp_path: Path) -> None:
    files = dict(CIS)
    files["common-auth"] = ("auth\trequisite\t\t\tpam_faillock.so preauth\n"
                            "auth\t[success=1 default=ignore]\tpam_unix.so\n"
                            "auth\trequisite\t\t\tpam_deny.so\n"
                            "auth\trequired\t\t\tpam_permit.so\n")
    facts = collect("pam", tree(tmp_path, files))
    assert facts["lockout"]["enforced"] is False


def test_unreachable_nullok_does_not_count(tmp_path: Path) -> None:
    files = dict(STOCK)
    files["common-auth"] = ("auth\t[success=2 default=ignore]\tpam_unix.so\n"
                            "auth\trequisite\t\t\tpam_deny.so\n"
                            "auth\t[success=1 default=ignore]\tpam_unix.so nullok\n"
                            "auth\trequired\t\t\tpam_permit.so\n")
    facts = collect("pam", tree(tmp_path, files))
    assert [r for *_, r, _ in lines(facts, "common-auth")] == [True, True, False, True]
    assert facts["unix"]["nullok"] is False


def test_jumps_count_across_include(tmp_path: Path) -> None:
    """`include` splices the lines in: a jump before it can land inside the included file."""
    files = {"common-auth": "auth [success=1 default=ignore] pam_unix.so\nauth include tail-auth\n",
             "tail-auth": "auth requisite pam_deny.so\nauth required pam_permit.so\n"}
    facts = collect("pam", tree(tmp_path, files))
    assert lines(facts, "common-auth") == [
        ("auth", "pam_unix", "", True, True), ("auth", "pam_deny", "", True, False),
        ("auth", "pam_permit", "", True, True)]


def test_substack_is_one_line_to_its_caller(tmp_path: Path) -> None:
    """RHEL's sshd runs password-auth as a substack: `die` inside it ends the substack only, and a
    jump inside cannot leave it."""
    files = {
        "password-auth": ("auth required pam_env.so\n"
                          "auth required pam_faillock.so preauth silent deny=5 unlock_time=900\n"
                          "auth sufficient pam_unix.so try_first_pass\n"
                          "auth [default=die] pam_faillock.so authfail deny=5 unlock_time=900\n"
                          "auth required pam_deny.so\n"),
        "sshd": ("auth substack password-auth\n"
                 "auth include postlogin\n"),
        "postlogin": "auth optional pam_lastlog.so\n",
        "jumpy": ("auth substack jump-inner\n"
                  "auth requisite pam_deny.so\n"),
        "jump-inner": "auth [success=5 default=bad] pam_unix.so\n",
    }
    facts = collect("pam", tree(tmp_path, files),
                    {"services": ["password-auth", "sshd", "jumpy"]})
    sshd = lines(facts, "sshd")
    assert ("auth", "pam_lastlog", "", True, False) in sshd  # runs after the substack's die
    assert ("auth", "pam_faillock", "preauth silent deny=5 unlock_time=900", True, True) in sshd
    assert facts["lockout"]["enforced"] is True
    assert facts["lockout"]["deny"] == 5
    # the jump of 5 ends the substack; its caller goes on to pam_deny
    assert lines(facts, "jumpy") == [("auth", "pam_unix", "", True, False),
                                     ("auth", "pam_deny", "", True, False)]


def test_optional_module_lines(tmp_path: Path) -> None:
    """A `-auth` line whose module is not installed is skipped, so it never decides alone."""
    files = {"common-auth": ("-auth [success=2 default=ignore] pam_systemd_home.so\n"
                             "auth [success=1 default=ignore] pam_unix.so\n"
                             "auth requisite pam_deny.so\nauth required pam_permit.so\n")}
    facts = collect("pam", tree(tmp_path, files))
    assert lines(facts, "common-auth") == [
        ("auth", "pam_systemd_home", "", True, False), ("auth", "pam_unix", "", True, False),
        ("auth", "pam_deny", "", True, False), ("auth", "pam_permit", "", True, True)]


def test_bad_control_is_reported(tmp_path: Path) -> None:
    facts = collect("pam", tree(tmp_path, {"common-auth": "auth [success=maybe] pam_unix.so\n"
                                           "auth required pam_permit.so\n"}))
    assert any("control '[success=maybe]' not understood" in e for e in facts["errors"])
    assert facts["services"]["common-auth"]["modules"][0]["enforced"] is False


@pytest.mark.parametrize(("control", "expected"), [
    ("required", {"success": "ok", "new_authtok_reqd": "ok", "ignore": "ignore", "default": "bad"}),
    ("[success=1 default=ignore]", {"success": 1, "default": "ignore"}),
    ("[success=0 default=DIE]", {"success": "ignore", "default": "die"}),
    ("[success=ok bogus]", None), ("[success=sometimes]", None), ("mandatory", None)])
def test_parse_control(control: str, expected: dict[str, object] | None) -> None:
    assert parse_control(control) == expected


def _node(control: str, module: str, *args: str) -> Node:
    actions = parse_control(control)
    assert actions is not None
    return Node(control=actions, module=module, args=args)


def test_reset_and_done() -> None:
    # done after a failure does not end the stack; the failure stands
    nodes = [_node("required", "pam_deny"), _node("sufficient", "pam_permit"),
             _node("required", "pam_unix")]
    flow = analyse(nodes)
    assert not flow.can_succeed and flow.can_fail
    assert nodes[2].reachable
    # reset forgets an earlier failure
    nodes = [_node("required", "pam_deny"), _node("[default=reset]", "pam_permit"),
             _node("required", "pam_unix")]
    assert analyse(nodes).can_succeed
    assert nodes[2].enforced
