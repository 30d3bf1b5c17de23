"""Disk encryption: LUKS volumes from /etc/crypttab and /etc/fstab, and on live hosts the
device-mapper tables in /sys (a `CRYPT-` uuid, followed through LVM to the disk)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

_RANDOM_KEYS = ("/dev/urandom", "/dev/random")


def _fields(text: str | None) -> list[list[str]]:
    rows = []
    for line in (text or "").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            rows.append(line.split())
    return rows


def parse_crypttab(text: str | None) -> list[dict[str, Any]]:
    entries = []
    for f in _fields(text):
        options = f[3].split(",") if len(f) > 3 else []
        keyfile = f[2] if len(f) > 2 else "none"
        entries.append({
            "name": f[0], "device": f[1] if len(f) > 1 else "", "keyfile": keyfile,
            "options": options,
            "type": "plain" if "plain" in options or keyfile in _RANDOM_KEYS else
            ("tcrypt" if "tcrypt" in options else "luks"),
            "swap": "swap" in options,
            "random_key": keyfile in _RANDOM_KEYS,
        })
    return entries


def parse_fstab(text: str | None) -> list[dict[str, str]]:
    return [{"device": f[0], "mountpoint": f[1], "fstype": f[2] if len(f) > 2 else ""}
            for f in _fields(text) if len(f) >= 2]


def _mapper_name(device: str) -> str | None:
    for prefix in ("/dev/mapper/", "/dev/disk/by-id/dm-name-"):
        if device.startswith(prefix):
            return device[len(prefix):]
    return None


class _DeviceMapper:
    """Live device-mapper devices: name -> (uuid, slave dm names)."""

    def __init__(self, host: HostTarget):
        self.by_name: dict[str, tuple[str, list[str]]] = {}
        kernel_to_name: dict[str, str] = {}
        try:
            blocks = [b for b in host.list_dir("/sys/block") if b.startswith("dm-")]
        except OSError:
            blocks = []
        raw: dict[str, tuple[str, str, list[str]]] = {}
        for block in blocks:
            name = (host.read_text_or_none(f"/sys/block/{block}/dm/name", 4096) or "").strip()
            uuid = (host.read_text_or_none(f"/sys/block/{block}/dm/uuid", 4096) or "").strip()
            try:
                slaves = host.list_dir(f"/sys/block/{block}/slaves")
            except OSError:
                slaves = []
            kernel_to_name[block] = name
            raw[block] = (name, uuid, slaves)
        for block, (name, uuid, slaves) in raw.items():
            self.by_name[name] = (uuid, [kernel_to_name.get(s, s) for s in slaves])

    def encrypted(self, name: str, depth: int = 0) -> bool:
        uuid, slaves = self.by_name.get(name, ("", []))
        if uuid.startswith("CRYPT-"):
            return True
        return depth < 8 and any(self.encrypted(s, depth + 1) for s in slaves)

    def crypt_volumes(self) -> list[str]:
        return sorted(n for n, (uuid, _) in self.by_name.items() if uuid.startswith("CRYPT-"))


class DiskEncryptionProbe(Probe):
    """Which file systems and swap areas sit on encrypted (LUKS/dm-crypt) devices.

    Facts: crypttab (list of {name, device, keyfile, options, type, swap, random_key}),
    encrypted_volumes (names), root_device, root_encrypted (True/False, None when it cannot
    be told), home_device, home_encrypted (None when /home is not separate), swap_present,
    swap_devices, swap_encrypted (None without swap), evidence (how root was judged), live.
    """

    name = "disk_encryption"
    description = "LUKS / dm-crypt for root, home and swap"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {"type": "object", "additionalProperties": False, "properties": {}}

    facts = fs.record(
        crypttab=fs.list_of(fs.record(name=fs.STR, device=fs.STR, keyfile=fs.STR,
                                      options=fs.list_of(fs.STR), type=fs.STR, swap=fs.BOOL,
                                      random_key=fs.BOOL)),
        encrypted_volumes=fs.list_of(fs.STR), root_device=fs.nullable(fs.STR),
        root_encrypted=fs.nullable(fs.BOOL), home_device=fs.nullable(fs.STR),
        home_encrypted=fs.nullable(fs.BOOL), swap_present=fs.BOOL,
        swap_devices=fs.list_of(fs.STR), swap_encrypted=fs.nullable(fs.BOOL), evidence=fs.STR,
        live=fs.BOOL,
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, HostTarget):
            raise ProbeError(f"{target.name} has no file system")
        host = target
        crypttab = parse_crypttab(host.read_text_or_none("/etc/crypttab"))
        fstab_text = host.read_text_or_none("/etc/fstab")
        fstab = parse_fstab(fstab_text)
        crypt_names = {e["name"] for e in crypttab}
        dm = _DeviceMapper(host) if host.live else None
        mounts = parse_fstab(host.read_text_or_none("/proc/self/mounts", 1024 * 1024)) if host.live else []
        volumes = sorted(crypt_names | set(dm.crypt_volumes() if dm else []))

        def judge(device: str | None) -> tuple[bool | None, str]:
            if device is None:
                return None, "not found"
            name = _mapper_name(device)
            if dm is not None and name and name in dm.by_name:
                return dm.encrypted(name), "device-mapper table"
            if name and name in crypt_names:
                return True, "crypttab"
            if name and any(not e["swap"] for e in crypttab):
                return True, "device-mapper volume with a crypttab entry (LVM on LUKS)"
            if not any(not e["swap"] for e in crypttab) and (dm is None or not dm.crypt_volumes()):
                return False, "no encrypted volume is configured"
            return None, "cannot tell"

        def device_of(mountpoint: str) -> str | None:
            for table in (mounts, fstab):
                for row in table:
                    if row["mountpoint"] == mountpoint:
                        return row["device"]
            return None

        root_device = device_of("/")
        root_encrypted, evidence = judge(root_device)
        home_device = device_of("/home")
        home_encrypted = judge(home_device)[0] if home_device else None
        swaps = [r["device"] for r in fstab if r["fstype"] == "swap"]
        swap_states = []
        for dev in swaps:
            name = _mapper_name(dev)
            if dm is not None and name and name in dm.by_name:
                swap_states.append(dm.encrypted(name))
            else:
                swap_states.append(bool(name and (name in crypt_names or
                                                  any(not e["swap"] for e in crypttab))))
        if fstab_text is None and not host.live:
            root_encrypted, evidence = None, "no /etc/fstab"
        return {
            "live": host.live,
            "crypttab": crypttab,
            "encrypted_volumes": volumes,
            "root_device": root_device,
            "root_encrypted": root_encrypted,
            "evidence": evidence,
            "home_device": home_device,
            "home_encrypted": home_encrypted,
            "swap_present": bool(swaps),
            "swap_devices": swaps,
            "swap_encrypted": all(swap_states) if swaps else None,
        }
