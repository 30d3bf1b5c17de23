"""Target resolution: target specs as given -> targets to scan, and targets that were not.

Host specs (`local`, `dir:PATH`) become targets directly; `ssh://` hosts and inventory hosts
become remote targets, not yet connected: the fleet runner (`smbaudit.fleet`) connects them
concurrently, and a host it cannot reach is reported, never dropped; everything else must be a network spec
(host, IP, CIDR, host:port), checked here and left for network discovery, which runs as engine
target sources (`smbaudit.netscan`) and reports the hosts that did not answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from smbaudit.errors import TargetError
from smbaudit.models import TargetInfo
from smbaudit.targets.base import Target
from smbaudit.targets.source import TargetSource
from smbaudit.targets.specs import parse_host_spec, path_hint
from smbaudit.targets.inventory import InventoryHost
from smbaudit.targets.ssh import SSHOptions, SSHTarget, is_ssh_spec
from smbaudit.targets.sshconnect import HostSettings

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ResolveOptions:
    ports: str = "top100"
    timing: int = 4
    scan_type: str = "auto"
    timeout: float = 10.0
    version_detection: str = "unknown"
    ssh: SSHOptions = field(default_factory=SSHOptions)
    force: bool = False  # scan a dir: folder even when it does not look like a tree


@dataclass
class ResolvedTargets:
    targets: list[Target]
    not_scanned: list[TargetInfo]  # hosts that could not be reached, and network range summaries
    network_specs: list[str] = field(default_factory=list)  # left for network discovery
    sources: list[TargetSource] = field(default_factory=list)  # its steps, run by the engine
    remote: list[SSHTarget] = field(default_factory=list)  # ssh hosts, connected by the fleet runner

    def close(self) -> None:
        for target in [*self.targets, *self.remote]:
            target.close()

    def did_not_answer(self, discovered: list[TargetInfo]) -> list[TargetInfo]:
        """From what network discovery saw: the hosts and ports that did not answer, and one
        summary per range (how many addresses were silent), for the report."""
        if not self.network_specs:
            return []
        from smbaudit.targets import network

        hosts = network.summarise_ranges(discovered, network.parse_specs(self.network_specs))
        return [h for h in hosts if not h.reachable or "did_not_answer_count" in h.details]


def _unknown(spec: str, why: str) -> TargetError:
    return TargetError(path_hint(spec) or f"unknown target {spec!r}: {why}")


def check_specs(specs: Sequence[str], force: bool = False) -> None:
    """Refuse bad target specs before anything is scanned (no connection is made)."""
    for spec in specs:
        if is_ssh_spec(spec):
            continue
        if parse_host_spec(spec, force=force) is not None:
            continue
        hint = path_hint(spec)
        if hint:
            raise TargetError(hint)


def inventory_target(host: InventoryHost, options: SSHOptions) -> SSHTarget:
    """A remote target for an inventory host: its own address, port, user, key and become.
    A host without `ansible_host` is looked up in the ssh client configuration by its name."""
    address = host.address if host.address != host.name else None
    settings = HostSettings(alias=host.name, host=address, port=host.port, user=host.user,
                            key_file=host.key_file, become=host.become or options.become)
    return SSHTarget(host.name, options, settings)


def resolve(specs: Sequence[str], options: ResolveOptions,
            progress: Progress = lambda _: None,
            inventory: Sequence[InventoryHost] = ()) -> ResolvedTargets:
    check_specs(specs, options.force)
    targets: list[Target] = []
    network_specs: list[str] = []
    not_scanned: list[TargetInfo] = []
    remote: list[SSHTarget] = []
    names: set[str] = set()
    for spec in specs:
        if is_ssh_spec(spec):
            if spec not in names:
                names.add(spec)
                remote.append(SSHTarget(spec, options.ssh))
            continue
        host = parse_host_spec(spec, force=options.force)
        if host is not None:
            targets.append(host)
        else:
            network_specs.append(spec)
    if network_specs:
        try:
            from smbaudit.targets import network
        except ImportError:
            raise _unknown(network_specs[0], "use `local` or `dir:PATH`") from None
        for spec in network_specs:
            if not network.is_network_spec(spec):
                why = "use `local`, `dir:PATH`, ssh://host, a host, an IP address, a CIDR range or host:port"
                try:
                    network.parse_specs([spec])
                except TargetError as exc:
                    why = str(exc)
                raise _unknown(spec, why)
    for entry in inventory:
        if entry.name not in names:
            names.add(entry.name)
            remote.append(inventory_target(entry, options.ssh))
    return ResolvedTargets(targets, not_scanned, network_specs, remote=remote)
