"""Password policy: login.defs, pwquality, faillock and the Debian PAM common-* stacks."""

from __future__ import annotations

from pathlib import Path

from smbaudit.demotree._util import write

BAD_LOGIN_DEFS = """# /etc/login.defs (demo, misconfigured)
MAIL_DIR        /var/mail
PASS_MAX_DAYS   99999
PASS_MIN_DAYS   0
UMASK           022
ENCRYPT_METHOD  MD5
"""

GOOD_LOGIN_DEFS = """# /etc/login.defs (demo, hardened)
MAIL_DIR        /var/mail
PASS_MAX_DAYS   365
PASS_MIN_DAYS   1
PASS_WARN_AGE   7
UMASK           027
ENCRYPT_METHOD  YESCRYPT
YESCRYPT_COST_FACTOR 5
"""

BAD_AUTH = """auth    [success=1 default=ignore]  pam_unix.so nullok
auth    requisite                   pam_deny.so
auth    required                    pam_permit.so
auth    required                    pam_faillock.so authfail deny=10
"""

GOOD_AUTH = """auth    required                    pam_faillock.so preauth
auth    [success=1 default=ignore]  pam_unix.so
auth    [default=die]               pam_faillock.so authfail
auth    sufficient                  pam_faillock.so authsucc
auth    requisite                   pam_deny.so
auth    required                    pam_permit.so
"""

BAD_PASSWORD = """password  requisite                   pam_pwquality.so retry=3
password  [success=1 default=ignore]  pam_unix.so obscure use_authtok try_first_pass md5 nullok
password  requisite                   pam_deny.so
password  required                    pam_permit.so
"""

GOOD_PASSWORD = """password  requisite                   pam_pwquality.so retry=3
password  required                    pam_pwhistory.so remember=24 enforce_for_root use_authtok
password  [success=1 default=ignore]  pam_unix.so obscure use_authtok try_first_pass yescrypt
password  requisite                   pam_deny.so
password  required                    pam_permit.so
"""

ACCOUNT = "account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so\n" \
          "account requisite pam_deny.so\naccount required pam_permit.so\n"
SESSION = "session [default=1] pam_permit.so\nsession requisite pam_deny.so\n" \
          "session required pam_permit.so\nsession optional pam_umask.so\n" \
          "session required pam_unix.so\n"
SSHD = "@include common-auth\naccount required pam_nologin.so\n@include common-account\n" \
       "@include common-session\n@include common-password\n"

FAILING = [
    "password.max-days", "password.min-days", "password.warn-age", "password.login-defs-hash",
    "password.min-length", "password.complexity", "password.quality-enforced",
    "password.lockout", "password.lockout-duration", "password.strong-hash",
    "password.no-nullok", "password.reuse",
    # the PAM CIS pack
    "pam.pam-pwhistory-enabled", "pam.lockout-root", "pam.pwquality-difok", "pam.pwquality-maxrepeat",
    "pam.pwquality-maxsequence", "pam.pwquality-root",
]


def build(root: Path, hardened: bool) -> list[str]:
    write(root, "/etc/login.defs", GOOD_LOGIN_DEFS if hardened else BAD_LOGIN_DEFS)
    write(root, "/etc/pam.d/common-auth", GOOD_AUTH if hardened else BAD_AUTH)
    write(root, "/etc/pam.d/common-password", GOOD_PASSWORD if hardened else BAD_PASSWORD)
    write(root, "/etc/pam.d/common-account", ACCOUNT)
    write(root, "/etc/pam.d/common-session", SESSION)
    write(root, "/etc/pam.d/sshd", SSHD)
    write(root, "/etc/pam.d/login", "@include common-auth\n@include common-account\n"
          "@include common-session\n@include common-password\n")
    if hardened:
        write(root, "/etc/security/pwquality.conf", "# see pwquality.conf.d\n")
        write(root, "/etc/security/pwquality.conf.d/50-cis.conf",
              "minlen = 14\nminclass = 4\nmaxrepeat = 3\nmaxsequence = 3\ndifok = 2\ndictcheck = 1\n"
              "enforce_for_root\n")
        write(root, "/etc/security/faillock.conf",
              "deny = 5\nunlock_time = 900\neven_deny_root\n")
    else:
        write(root, "/etc/security/pwquality.conf", "minlen = 8\nenforcing = 0\n")
        write(root, "/etc/security/faillock.conf", "unlock_time = 60\n")
    return list(FAILING)
