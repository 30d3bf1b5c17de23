"""The RHEL family's authselect profile: the active profile and features from
/etc/authselect/authselect.conf (its first line is the profile id, the following lines its
features), and the PAM modules its system-auth and password-auth templates name. A profile id
`custom/NAME` lives in /etc/authselect/custom/NAME; any other in
/usr/share/authselect/vendor/NAME, else /usr/share/authselect/default/NAME. The templates are
the profile's source, not the files authselect generated in /etc/pam.d (those the pam probe
reads): a module on a line kept only `{include if "with-FEATURE"}` counts here, as the
benchmark's audit counts it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes._common import Reader, host_of, lines_of, strip_comment
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import Target

AUTHSELECT_CONF = "/etc/authselect/authselect.conf"
CUSTOM_DIR = "/etc/authselect/custom"
VENDOR_DIRS = ("/usr/share/authselect/vendor", "/usr/share/authselect/default")
TEMPLATES = ("system-auth", "password-auth")
_MODULE = re.compile(r"(?:^|[\s/])(pam_[A-Za-z0-9_]+\.so)\b")
_FILE = fs.record(path=fs.nullable(fs.STR), present=fs.BOOL, modules=fs.list_of(fs.STR))


def profile_dir(profile: str, exists: Callable[[str], bool]) -> str:
    if profile.startswith("custom/"):
        return f"{CUSTOM_DIR}/{profile[len('custom/'):]}"
    for base in VENDOR_DIRS:
        if exists(f"{base}/{profile}"):
            return f"{base}/{profile}"
    return f"{VENDOR_DIRS[-1]}/{profile}"


def template_modules(text: str) -> list[str]:
    """The PAM modules named on the template's lines (comments left out), sorted."""
    found: set[str] = set()
    for raw in lines_of(text):
        line = strip_comment(raw)
        found.update(_MODULE.findall(line))
    return sorted(found)


class AuthselectProbe(Probe):
    """The active authselect profile and the PAM modules of its templates.

    Facts: present (authselect.conf exists), profile (its id, e.g. sssd or custom/cis; None when
    no profile is selected), features, profile_dir, files ({system-auth, password-auth} ->
    {path, present, modules (pam_*.so named on the template's lines)}).
    """

    name = "authselect"
    description = "active authselect profile (authselect.conf) and the PAM modules of its templates"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = fs.record(present=fs.BOOL, profile=fs.nullable(fs.STR), features=fs.list_of(fs.STR),
                      profile_dir=fs.nullable(fs.STR),
                      files=fs.record_of({name: _FILE for name in TEMPLATES}))

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        reader = Reader(host)
        text = reader.read(AUTHSELECT_CONF)
        words = [strip_comment(line) for line in lines_of(text or "")]
        words = [w for w in words if w]
        profile = words[0] if words else None
        where = profile_dir(profile, host.exists) if profile else None
        files: dict[str, Any] = {}
        for name in TEMPLATES:
            path = f"{where}/{name}" if where else None
            body = reader.read(path) if path else None
            files[name] = {"path": path, "present": body is not None,
                           "modules": template_modules(body) if body is not None else []}
        return {"present": text is not None, "profile": profile, "features": words[1:],
                "profile_dir": where, "files": files}
