"""SELinux: the mode and policy configured in /etc/selinux/config, the mode in force on a live
host (/sys/fs/selinux/enforce), and whether the policy is there to load."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes._common import Reader, host_of, lines_of, strip_comment
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import Target

CONFIG = "/etc/selinux/config"
ENFORCE = "/sys/fs/selinux/enforce"


class SelinuxProbe(Probe):
    """SELinux configuration and state.

    Facts: config_present, mode (SELINUX=: enforcing / permissive / disabled; None unset),
    policy (SELINUXTYPE=; None unset), policy_installed (/etc/selinux/POLICY/policy exists),
    live_mode (live: enforcing / permissive from /sys/fs/selinux/enforce, "disabled" when the
    kernel has no SELinux file system; None offline), effective_mode (live_mode when known,
    else mode).
    """

    name = "selinux"
    description = "SELinux mode and policy (config file, and the kernel's state live)"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    facts = fs.record(config_present=fs.BOOL, mode=fs.nullable(fs.STR), policy=fs.nullable(fs.STR),
                      policy_installed=fs.BOOL, live_mode=fs.nullable(fs.STR),
                      effective_mode=fs.nullable(fs.STR))

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        reader = Reader(host)
        text = reader.read(CONFIG)
        values: dict[str, str] = {}
        for raw in lines_of(text or ""):
            m = re.match(r"^\s*(SELINUX|SELINUXTYPE)\s*=\s*(\S+)", strip_comment(raw))
            if m:
                values[m.group(1)] = m.group(2).strip("\"'").lower()
        policy = values.get("SELINUXTYPE")
        live_mode = None
        if host.live:
            state = (reader.read(ENFORCE) or "").strip()
            live_mode = {"1": "enforcing", "0": "permissive"}.get(state, "disabled")
        mode = values.get("SELINUX")
        return {
            "config_present": text is not None,
            "mode": mode,
            "policy": policy,
            "policy_installed": bool(policy) and host.exists(f"/etc/selinux/{policy}/policy"),
            "live_mode": live_mode,
            "effective_mode": live_mode if live_mode is not None else mode,
        }
