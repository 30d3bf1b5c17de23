"""The RHEL family's system-wide crypto policy: the policy in /etc/crypto-policies/config
(`BASE[:MODULE...]`), the lines of the sub-policy modules it applies (a module in
/etc/crypto-policies/policies/modules hides the one of the same name shipped in
/usr/share/crypto-policies/policies/modules), and whether sshd is told to ignore the policy
(CRYPTO_POLICY= in /etc/sysconfig/sshd)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes._common import Reader, host_of, lines_of, strip_comment
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import Target

CONFIG = "/etc/crypto-policies/config"
MODULE_DIRS = ("/etc/crypto-policies/policies/modules", "/usr/share/crypto-policies/policies/modules")
SSHD_SYSCONFIG = "/etc/sysconfig/sshd"


class CryptoPolicyProbe(Probe):
    """System-wide crypto policy.

    Facts: present (the config file exists), policy (as configured, e.g. DEFAULT:NO-SHA1), base
    (upper case), modules (upper case), missing_modules (named but found in neither folder),
    directives (the modules' lines, `key = value` with single spaces), sshd_override (a
    CRYPTO_POLICY= line in /etc/sysconfig/sshd).
    """

    name = "crypto_policy"
    description = "system-wide crypto policy (crypto-policies) and its sub-policy modules"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = fs.record(present=fs.BOOL, policy=fs.nullable(fs.STR), base=fs.nullable(fs.STR),
                      modules=fs.list_of(fs.STR), missing_modules=fs.list_of(fs.STR),
                      directives=fs.list_of(fs.STR), sshd_override=fs.BOOL)

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        reader = Reader(host)
        text = reader.read(CONFIG)
        policy = next((strip_comment(line) for line in lines_of(text or "") if strip_comment(line)), None)
        parts = [p.strip().upper() for p in (policy or "").split(":") if p.strip()]
        directives: list[str] = []
        missing: list[str] = []
        for module in parts[1:]:
            body = next((t for t in (reader.read(f"{d}/{module}.pmod") for d in MODULE_DIRS)
                         if t is not None), None)
            if body is None:
                missing.append(module)
                continue
            for raw in lines_of(body):
                line = strip_comment(raw)
                if "=" in line:
                    key, _, value = line.partition("=")
                    directives.append(f"{key.strip()} = {' '.join(value.split())}")
        sshd = reader.read(SSHD_SYSCONFIG) or ""
        override = any(re.match(r"^\s*CRYPTO_POLICY\s*=", strip_comment(line)) for line in lines_of(sshd))
        return {"present": text is not None, "policy": policy, "base": parts[0] if parts else None,
                "modules": parts[1:], "missing_modules": missing, "directives": directives,
                "sshd_override": override}
