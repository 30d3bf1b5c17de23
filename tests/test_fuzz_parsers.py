"""Fuzzing the configuration parsers through their probes, on real trees: whatever a file says,
a probe returns JSON facts or raises a named ProbeError (NotReadable, BudgetExceeded...), within
its time and memory bounds; never another exception (a traceback in the report).

Profiles and the long run: see tests/fuzzing.py."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import EXAMPLE_SECONDS, MEMORY_MB, config_text, rss_mb
from hostcfg_util import probe
from smbaudit.errors import ProbeError, ProbeTimeout
from smbaudit.probes.base import ProbeContext
from smbaudit.targets.posixfs import DirectoryTarget

SSHD = ["PermitRootLogin", "yes", "no", "prohibit-password", "Include", "/etc/ssh/*.conf",
        "sshd_config.d/*.conf", "Match", "User", "Host", "Address", "all", "Ciphers", "+aes128-cbc",
        "-chacha20*", "^aes", "KexAlgorithms", "PasswordAuthentication", "PermitEmptyPasswords",
        "MaxAuthTries", "LoginGraceTime", "1m", "ClientAliveInterval", "HostKey", "AllowUsers", "=", '"']
SUDOERS = ["#include", "#includedir", "@include", "/etc/sudoers.d", "/etc/sudoers", "Defaults",
           "!authenticate", "ALL", "NOPASSWD:", "=", "(ALL)", "(ALL:ALL)", "%admin", "%sudo",
           "User_Alias", "Cmnd_Alias", "\\", ",", "%h", "root", "alice", "use_pty"]
ACCOUNTS = ["root", "x", "0", "1000", "65534", "/bin/bash", "/usr/sbin/nologin", "!", "*", "!!",
            "$6$salt$hash", "$1$a$b", "$y$j9T$a$b", "", "99999", "-1", "sudo", "wheel", "::"]
PAM = ["auth", "account", "password", "session", "-auth", "required", "requisite", "sufficient",
       "optional", "include", "substack", "@include", "common-auth", "login", "pam_unix.so",
       "nullok", "pam_faillock.so", "deny=3", "unlock_time=900", "pam_pwquality.so", "minlen=14",
       "retry=3", "remember=5", "[success=1", "default=ignore]", "[default=die]", "sha512", "yescrypt"]
NGINX = ["include", "/etc/nginx/conf.d/*.conf", "conf.d/*.conf", "server", "{", "}", ";", "http",
         "listen", "443", "ssl", "ssl_protocols", "TLSv1", "TLSv1.3", "ssl_ciphers", "HIGH:!aNULL",
         "server_tokens", "on", "off", "ssl_certificate", "/etc/ssl/x.pem", '"', "'", "#"]
APACHE = ["Include", "IncludeOptional", "conf-enabled/*.conf", "/etc/apache2/*.conf",
          "<VirtualHost", "*:443>", "</VirtualHost>", "<IfModule", "mod_ssl.c>", "</IfModule>",
          "SSLProtocol", "all", "-SSLv3", "+TLSv1", "SSLCipherSuite", "SSLEngine", "on",
          "ServerTokens", "Full", "ServerSignature", "\\", '"']
LOGIN_DEFS = ["PASS_MAX_DAYS", "PASS_MIN_DAYS", "PASS_WARN_AGE", "UMASK", "027", "0777", "99999",
              "ENCRYPT_METHOD", "SHA512", "YESCRYPT", "SHA_CRYPT_MIN_ROUNDS", "UID_MIN", "#"]
SYSCTL = ["net.ipv4.ip_forward", "=", "0", "1", "kernel.randomize_va_space", "2", "-",
          "net/ipv4/conf/all/accept_redirects", "fs.suid_dumpable", "*", ";", "#"]
DPKG = ["Package:", "Status:", "install", "ok", "installed", "deinstall", "config-files",
        "Version:", "1:2.3-4", "1.0~rc1", "Source:", "openssl", "(3.0.11-1)", "Architecture:",
        "amd64", "Description:", " .", "", "\n", "\n\n"]
OS_RELEASE = ["ID=", "ID=debian", "ID=ubuntu", "ID_LIKE=", "VERSION_ID=", '"12"', "'9'",
              "PRETTY_NAME=", "VERSION_CODENAME=", "bookworm", "NAME=", "\\", '"', "rhel fedora"]

CASES: dict[str, tuple[str, list[str], str, dict[str, Any], list[str]]] = {
    # case: (probe, vocabulary, separator, params, files the text is written to)
    "sshd_config": ("sshd_config", SSHD, " ", {}, ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/a.conf"]),
    "sudoers": ("accounts", SUDOERS, " ", {}, ["/etc/sudoers", "/etc/sudoers.d/extra"]),
    "passwd-shadow-group": ("accounts", ACCOUNTS, ":", {}, ["/etc/passwd", "/etc/shadow", "/etc/group",
                                                          "/etc/gshadow"]),
    "pam": ("pam", PAM, " ", {"services": ["login"]}, ["/etc/pam.d/login", "/etc/pam.d/common-auth"]),
    "nginx": ("webserver_tls", NGINX, " ", {}, ["/etc/nginx/nginx.conf", "/etc/nginx/conf.d/a.conf"]),
    "apache": ("webserver_tls", APACHE, " ", {}, ["/etc/apache2/apache2.conf",
                                                  "/etc/apache2/conf-enabled/a.conf"]),
    "login.defs": ("login_defs", LOGIN_DEFS, " ", {}, ["/etc/login.defs"]),
    "sysctl": ("sysctl", SYSCTL, " ", {}, ["/etc/sysctl.conf", "/etc/sysctl.d/99-a.conf"]),
    "dpkg-status": ("packages", DPKG, " ", {}, ["/var/lib/dpkg/status"]),
    "os-release": ("os_release", OS_RELEASE, "", {}, ["/etc/os-release"]),
}


def _collect(case: str, texts: list[str]) -> None:
    name, _vocab, _sep, params, files = CASES[case]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for path, text in zip(files, texts):
            dest = root / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8", errors="surrogatepass")
        target = DirectoryTarget("dir:fuzz", str(root))
        started = time.monotonic()
        ctx = ProbeContext(deadline=started + EXAMPLE_SECONDS, timeout=2)
        try:
            facts = probe(name).collect(target, params, ctx)
        except ProbeTimeout as exc:
            raise AssertionError(f"{name} ran past {EXAMPLE_SECONDS} s on fuzzed input: {exc}") from exc
        except ProbeError:
            pass  # a named error: becomes an error finding that says why
        else:
            assert isinstance(facts, dict)
            json.dumps(facts)  # plain JSON data, as the facts contract says
        finally:
            target.close()
    assert rss_mb() < MEMORY_MB


@pytest.mark.parametrize("case", sorted(CASES))
def test_parsers_never_raise_unnamed_errors(case: str) -> None:
    _name, vocab, sep, _params, files = CASES[case]

    @given(st.lists(config_text(vocab, sep), min_size=len(files), max_size=len(files)))
    def run(texts: list[str]) -> None:
        _collect(case, texts)

    run()
