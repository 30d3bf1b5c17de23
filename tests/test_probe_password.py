"""login_defs and pam probes on real file trees."""

from __future__ import annotations

from pathlib import Path

from hostcfg_util import collect, put, snapshot
from smbaudit.probes.pam import split_pam_line


def test_login_defs_parsing(tmp_path: Path) -> None:
    put(tmp_path, "/etc/login.defs", (
        "# comment PASS_MAX_DAYS 1\n"
        "PASS_MAX_DAYS\t99999\n"
        "PASS_MAX_DAYS 90   # later wins\n"
        "pass_min_days 1\n"
        "UMASK 27\n"
        "ENCRYPT_METHOD SHA512\n"
        "SHA_CRYPT_MIN_ROUNDS 5000\n"
        "ENV_PATH PATH=/usr/bin:/bin\n"))
    f = collect("login_defs", tmp_path)
    s = f["settings"]
    assert f["present"] is True
    assert s["PASS_MAX_DAYS"] == 90 and s["PASS_MIN_DAYS"] == 1
    assert s["UMASK"] == "0027"
    assert f["encrypt_method"] == "sha512"
    assert s["SHA_CRYPT_MIN_ROUNDS"] == 5000
    assert s["ENV_PATH"] == "PATH=/usr/bin:/bin"


def test_login_defs_missing(tmp_path: Path) -> None:
    f = collect("login_defs", tmp_path)
    assert f["present"] is False and f["settings"] == {} and f["encrypt_method"] is None
    assert f["pwquality"]["present"] is False
    assert f["pwquality"]["settings"]["minlen"] == 8


def test_pwquality_dropins_then_main(tmp_path: Path) -> None:
    put(tmp_path, "/etc/security/pwquality.conf.d/20-b.conf", "minlen = 12\n")
    put(tmp_path, "/etc/security/pwquality.conf.d/10-a.conf", "minlen = 10\nminclass=2\n")
    put(tmp_path, "/etc/security/pwquality.conf.d/ignored.txt", "minlen = 99\n")
    put(tmp_path, "/etc/security/pwquality.conf", "# minlen = 4\n  dcredit = -1 \nenforce_for_root\n")
    q = collect("login_defs", tmp_path)["pwquality"]
    assert q["files"] == ["/etc/security/pwquality.conf.d/10-a.conf",
                          "/etc/security/pwquality.conf.d/20-b.conf", "/etc/security/pwquality.conf"]
    assert q["configured"] == {"minlen": 12, "minclass": 2, "dcredit": -1, "enforce_for_root": True}
    assert q["settings"]["minlen"] == 12 and q["settings"]["dictcheck"] == 1


def test_split_pam_line_brackets() -> None:
    assert split_pam_line("auth [success=1 default=ignore] pam_unix.so nullok") == [
        "auth", "[success=1 default=ignore]", "pam_unix.so", "nullok"]
    assert split_pam_line("auth required pam_x.so [query=select a\\]b]") == [
        "auth", "required", "pam_x.so", "[query=select a]b]"]


DEBIAN_AUTH = """# common-auth
auth	[success=2 default=ignore]	pam_unix.so nullok
auth	[success=1 default=ignore]	pam_sss.so \\
        use_first_pass
auth	requisite			pam_deny.so
-auth	optional			pam_cap.so
"""


def test_debian_stack_with_at_include(tmp_path: Path) -> None:
    put(tmp_path, "/etc/pam.d/common-auth", DEBIAN_AUTH)
    put(tmp_path, "/etc/pam.d/common-password",
        "password requisite pam_pwquality.so retry=3 minlen=12\n"
        "password [success=1 default=ignore] pam_unix.so obscure use_authtok yescrypt remember=5\n")
    put(tmp_path, "/etc/pam.d/sshd", "@include common-auth\naccount required pam_nologin.so\n")
    put(tmp_path, "/etc/security/pwquality.conf", "minlen = 8\nminclass = 3\n")
    f = collect("pam", tmp_path, {"services": ["sshd", "common-password"]})
    mods = f["services"]["sshd"]["modules"]
    assert [m["module"] for m in mods] == ["pam_unix", "pam_sss", "pam_deny", "pam_cap",
                                           "pam_nologin"]
    assert mods[0]["control"] == "[success=2 default=ignore]"
    assert mods[0]["file"] == "/etc/pam.d/common-auth" and mods[0]["line"] == 2
    assert mods[1]["args"] == ["use_first_pass"]
    assert mods[3]["optional"] is True
    assert f["unix"] == {"present": True, "hash": "yescrypt", "hash_source": "pam", "nullok": True,
                         "nullok_lines": ["/etc/pam.d/common-auth:2"], "remember": True,
                        "use_authtok": True}
    assert f["pwquality"]["present"] is True
    assert f["pwquality"]["settings"]["minlen"] == 12        # argument overrides the file
    assert f["pwquality"]["settings"]["minclass"] == 3       # file value kept
    # This common-password has no pam_deny after pam_unix: a failed pam_unix is ignored and the
    # change succeeds on pam_pwquality's success alone, so pam_unix's remember= is not in force.
    assert f["password_history"] == {"present": True, "enforced": False, "module": "pam_unix",
                                     "remember": 5, "pwhistory": False, "enforce_for_root": False,
                                     "use_authtok": False}
    assert f["lockout"]["present"] is False


def test_rhel_stack_include_substack_faillock(tmp_path: Path) -> None:
    put(tmp_path, "/etc/pam.d/system-auth", (
        "auth        required      pam_env.so\n"
        "auth        required      pam_faillock.so preauth silent deny=4\n"
        "auth        sufficient    pam_unix.so\n"
        "auth        [default=die] pam_faillock.so authfail unlock_time=1200\n"
        "password    requisite     pam_pwquality.so\n"
        "password    required      pam_pwhistory.so use_authtok\n"
        "password    sufficient    pam_unix.so sha512 shadow use_authtok\n"
        "session     required      pam_limits.so\n"))
    put(tmp_path, "/etc/pam.d/su", "auth substack system-auth\nsession include system-auth\n")
    put(tmp_path, "/etc/security/faillock.conf", "deny = 6\nunlock_time = 300\neven_deny_root\n")
    f = collect("pam", tmp_path, {"services": ["su"]})
    mods = f["services"]["su"]["modules"]
    assert [(m["type"], m["module"]) for m in mods] == [
        ("auth", "pam_env"), ("auth", "pam_faillock"), ("auth", "pam_unix"),
        ("auth", "pam_faillock"), ("session", "pam_limits")]   # include takes its own type only
    assert f["lockout"] == {"present": True, "enforced": True, "module": "pam_faillock", "deny": 4,
                            "unlock_time": 1200, "fail_interval": 900, "even_deny_root": True,
                            "root_unlock_time": None}
    assert f["unix"]["hash"] is None  # su's stack has no password lines
    g = collect("pam", tmp_path, {"services": ["system-auth"]})
    assert g["unix"]["hash"] == "sha512" and g["unix"]["nullok"] is False
    assert g["password_history"] == {"present": True, "enforced": True, "module": "pam_pwhistory",
                                     "remember": 10, "pwhistory": True, "enforce_for_root": False,
                                     "use_authtok": True}


def test_tally2_cracklib_and_login_defs_hash(tmp_path: Path) -> None:
    put(tmp_path, "/etc/pam.d/common-auth", "auth required pam_tally2.so deny=3 onerr=fail\n")
    put(tmp_path, "/etc/pam.d/common-password",
        "password required pam_cracklib.so minlen=16 dcredit=-1\n"
        "password required pam_unix.so use_authtok\n")
    put(tmp_path, "/etc/login.defs", "ENCRYPT_METHOD SHA512\n")
    put(tmp_path, "/etc/security/pwquality.conf", "minlen = 6\n")  # not read by cracklib
    f = collect("pam", tmp_path)
    assert f["lockout"]["module"] == "pam_tally2" and f["lockout"]["deny"] == 3
    assert f["lockout"]["unlock_time"] == 0
    assert f["pwquality"]["module"] == "pam_cracklib"
    assert f["pwquality"]["settings"]["minlen"] == 16
    assert f["unix"]["hash"] == "sha512" and f["unix"]["hash_source"] == "login.defs"


def test_include_cycle_and_missing_include(tmp_path: Path) -> None:
    put(tmp_path, "/etc/pam.d/common-auth", "@include common-auth\n@include nowhere\n"
        "auth required pam_unix.so\n")
    f = collect("pam", tmp_path, {"services": ["common-auth"]})
    assert [m["module"] for m in f["services"]["common-auth"]["modules"]] == ["pam_unix"]
    assert any("include cycle" in e for e in f["errors"])
    assert any("nowhere" in e and "missing" in e for e in f["errors"])


def test_no_pam_at_all_and_tree_unchanged(tmp_path: Path) -> None:
    put(tmp_path, "/etc/hostname", "x\n")
    before = snapshot(tmp_path)
    f = collect("pam", tmp_path)
    assert f["present"] is False and f["unix"]["present"] is False
    collect("login_defs", tmp_path)
    assert snapshot(tmp_path) == before
