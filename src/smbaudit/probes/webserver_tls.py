"""TLS and disclosure settings of nginx and Apache httpd, from their configuration files.

Shipped defaults are used where a directive is unset:
- nginx `ssl_protocols`: TLSv1 TLSv1.1 TLSv1.2 before 1.23.4, TLSv1.2 TLSv1.3 from 1.23.4
  (the version comes from the `nginx_version` param, else the dpkg status file, else 1.22.1,
  Debian 12's); `ssl_ciphers` HIGH:!aNULL:!MD5; `ssl_prefer_server_ciphers` off;
  `server_tokens` on;
- Apache `SSLProtocol` all -SSLv3 (httpd 2.4; "all" taken as SSLv3..TLSv1.3);
  `SSLCipherSuite` DEFAULT (OpenSSL's); `SSLHonorCipherOrder` off; `ServerTokens` Full;
  `ServerSignature` Off.
Cipher strings are expanded to the suites they ask for (see `_cipherstring`), not to what the
local OpenSSL would offer. The probe reports what is enabled; which protocols and suites are
weak is written in the checks (`checks/webserver/tls.yaml`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from smbaudit.models import TargetKind
from smbaudit.probes._cipherstring import expand
from smbaudit.probes._common import Reader, host_of
from smbaudit.probes._webconf import ApacheParser, Directive, NginxParser
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import HostTarget, Target

ALL_PROTOCOLS = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
NGINX_CIPHERS = "HIGH:!aNULL:!MD5"
APACHE_CIPHERS = "DEFAULT"
DEFAULT_NGINX_VERSION = "1.22.1"
APACHE_MAIN = ("/etc/apache2/apache2.conf", "/etc/httpd/conf/httpd.conf")


def _ver(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def nginx_default_protocols(version: str) -> list[str]:
    return ["TLSv1.2", "TLSv1.3"] if _ver(version) >= (1, 23, 4) else ["TLSv1", "TLSv1.1", "TLSv1.2"]


def apache_protocols(args: list[str]) -> list[str]:
    """mod_ssl's SSLProtocol: a bare name replaces the set, +name adds, -name removes."""
    chosen: set[str] = set()
    for arg in args:
        action = arg[0] if arg[:1] in "+-" else ""
        name = arg[1:] if action else arg
        if name.lower() == "all":
            names = set(ALL_PROTOCOLS)
        else:
            match = [p for p in ALL_PROTOCOLS + ("SSLv2",) if p.lower() == name.lower()]
            names = set(match)
        if action == "+":
            chosen |= names
        elif action == "-":
            chosen -= names
        else:
            chosen = set(names)
    return [p for p in ("SSLv2",) + ALL_PROTOCOLS if p in chosen]


def _hsts(values: list[str]) -> tuple[bool, int]:
    for value in values:
        m = re.search(r"max-age\s*=\s*\"?(\d+)", value, re.I)
        if m:
            return int(m.group(1)) > 0, int(m.group(1))
    return False, 0


def _dpkg_version(reader: Reader, packages: tuple[str, ...]) -> str | None:
    text = reader.host.read_text_or_none("/var/lib/dpkg/status") or ""
    for stanza in text.split("\n\n"):
        m = re.search(r"^Package:\s*(\S+)", stanza, re.M)
        v = re.search(r"^Version:\s*(?:\d+:)?(\S+)", stanza, re.M)
        if m and v and m.group(1) in packages and "install ok installed" in stanza:
            return v.group(1)
    return None


def _tls_facts(server: dict[str, Any], protocols: list[str] | None, ciphers: str | None) -> dict[str, Any]:
    """The protocols and suites a server enables, also one entry each with the server's name,
    file and line, so a check that judges them can name both the server and what it enables."""
    where = {"name": server["name"], "file": server["file"], "line": server["line"]}
    return {"protocols": protocols or [], "ciphers": ciphers,
            "enabled_protocols": [{**where, "protocol": p} for p in protocols or []],
            "enabled_suites": [{**where, "suite": n} for n in expand(ciphers)] if ciphers else []}


# ----------------------------------------------------------------------------- nginx


def _first(block: list[Directive], name: str) -> Directive | None:
    return next((d for d in block if d["name"] == name), None)


def _nginx_server(host: HostTarget, srv: Directive, http: list[Directive], version: str) -> dict[str, Any]:
    block = srv["block"] or []

    def eff(name: str) -> Directive | None:
        return _first(block, name) or _first(http, name)

    listens = [" ".join(d["args"]) for d in block if d["name"] == "listen"] or ["80"]
    ssl_on = eff("ssl")
    tls = any(re.search(r"(^|\s)(ssl|quic)(\s|$)", l) for l in listens) or bool(
        ssl_on and ssl_on["args"][:1] == ["on"])
    protocols_d = eff("ssl_protocols")
    ciphers_d = eff("ssl_ciphers")
    prefer = eff("ssl_prefer_server_ciphers")
    tokens = eff("server_tokens")
    headers = [d for d in block if d["name"] == "add_header"] or \
        [d for d in http if d["name"] == "add_header"]
    hsts_values = [" ".join(d["args"][1:]) for d in headers
                   if d["args"] and d["args"][0].lower() == "strict-transport-security"]
    hsts, max_age = _hsts(hsts_values)
    cert = eff("ssl_certificate")
    cert_path = cert["args"][0] if cert and cert["args"] else None
    if cert_path and not cert_path.startswith("/") and "$" not in cert_path:
        cert_path = f"/etc/nginx/{cert_path}"
    names = [n for d in block if d["name"] == "server_name" for n in d["args"]]
    facts: dict[str, Any] = {
        "software": "nginx", "file": srv["file"], "line": srv["line"], "name": (names or ["_"])[0],
        "server_names": names, "listen": listens, "tls_enabled": tls,
        "prefer_server_ciphers": bool(prefer and prefer["args"][:1] == ["on"]),
        "hsts": hsts, "hsts_max_age": max_age,
        "certificate": cert_path,
        # None when the path uses nginx variables and cannot be resolved from files
        "certificate_exists": (None if cert_path and "$" in cert_path
                               else bool(cert_path and host.exists(cert_path))),
        "server_tokens": tokens["args"][0] if tokens and tokens["args"] else "on",
    }
    protocols = protocols_d["args"] if protocols_d else nginx_default_protocols(version)
    ciphers = " ".join(ciphers_d["args"]) if ciphers_d else NGINX_CIPHERS
    facts.update(_tls_facts(facts, list(protocols), ciphers) if tls else _tls_facts(facts, None, None))
    return facts


def nginx_facts(host: HostTarget, reader: Reader, version_param: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    path = "/etc/nginx/nginx.conf"
    if not host.exists(path):
        return {"present": False, "config_path": path, "version": None, "version_source": None,
                "server_tokens": None}, []
    version, source = version_param, "param"
    if not version:
        version = _dpkg_version(reader, ("nginx", "nginx-core", "nginx-full", "nginx-light",
                                         "nginx-extras", "nginx-common"))
        source = "dpkg"
    if not version:
        version, source = DEFAULT_NGINX_VERSION, "assumed"
    tree = NginxParser(reader).parse_file(path)
    servers: list[dict[str, Any]] = []
    http_tokens = "on"
    for http in (d for d in tree if d["name"] == "http"):
        hblock = http["block"] or []
        t = _first(hblock, "server_tokens")
        if t and t["args"]:
            http_tokens = t["args"][0]
        for srv in (d for d in hblock if d["name"] == "server"):
            servers.append(_nginx_server(host, srv, hblock, version))
    return {"present": True, "config_path": path, "version": version, "version_source": source,
            "server_tokens": http_tokens}, servers


# ----------------------------------------------------------------------------- Apache


_SECTIONS_SKIPPED_WHEN_NEGATED = ("ifmodule", "ifdefine", "iffile", "ifdirective", "ifsection")


def _flatten(block: list[Directive], into: list[Directive], vhosts: list[Directive]) -> None:
    """Directives of the server config (descending into conditional and path sections), with
    VirtualHost sections collected separately."""
    for d in block:
        lname = d["name"].lower()
        if d["block"] is None:
            into.append(d)
        elif lname == "virtualhost":
            vhosts.append(d)
        elif lname in _SECTIONS_SKIPPED_WHEN_NEGATED and d["args"] and d["args"][0].startswith("!"):
            continue
        else:
            _flatten(d["block"], into, vhosts)


def _last(directives: list[Directive], name: str) -> Directive | None:
    """Apache: a later directive of the same name in the same context wins."""
    found = [d for d in directives if d["name"].lower() == name.lower()]
    return found[-1] if found else None


def _apache_hsts(directives: list[Directive]) -> list[str]:
    values = []
    for d in directives:
        if d["name"].lower() != "header":
            continue
        args = d["args"]
        if args and args[0].lower() in ("always", "onsuccess"):
            args = args[1:]
        if len(args) >= 3 and args[0].lower() in ("set", "add", "append", "merge", "setifempty") \
                and args[1].lower() == "strict-transport-security":
            values.append(args[2])
    return values


def apache_facts(host: HostTarget, reader: Reader) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    path = next((p for p in APACHE_MAIN if host.exists(p)), None)
    if path is None:
        return {"present": False, "config_path": None, "server_tokens": None,
                "server_signature": None, "listen": []}, []
    root = path.rsplit("/", 2)[0] if path.endswith("/conf/httpd.conf") else path.rsplit("/", 1)[0]
    tree = ApacheParser(reader, root).parse_file(path)
    global_: list[Directive] = []
    vhosts: list[Directive] = []
    _flatten(tree, global_, vhosts)
    servers: list[dict[str, Any]] = []
    for vh in vhosts:
        local: list[Directive] = []
        _flatten(vh["block"] or [], local, [])

        def eff(name: str) -> Directive | None:
            return _last(local, name) or _last(global_, name)

        engine = eff("SSLEngine")
        tls = bool(engine and engine["args"][:1] and engine["args"][0].lower() == "on")
        proto = eff("SSLProtocol")
        suite = eff("SSLCipherSuite")
        honor = eff("SSLHonorCipherOrder")
        cert = eff("SSLCertificateFile")
        cert_path = cert["args"][0] if cert and cert["args"] else None
        hsts, max_age = _hsts(_apache_hsts(global_) + _apache_hsts(local))
        name = _last(local, "ServerName")
        facts: dict[str, Any] = {
            "software": "apache", "file": vh["file"], "line": vh["line"],
            "name": name["args"][0] if name and name["args"] else " ".join(vh["args"]),
            "server_names": [a for d in local if d["name"].lower() in ("servername", "serveralias")
                             for a in d["args"]],
            "listen": list(vh["args"]), "tls_enabled": tls,
            "prefer_server_ciphers": bool(honor and honor["args"][:1] and honor["args"][0].lower() == "on"),
            "hsts": hsts, "hsts_max_age": max_age, "certificate": cert_path,
            "certificate_exists": bool(cert_path and host.exists(cert_path)),
        }
        if tls:
            # SSLCipherSuite may name a protocol first (SSLCipherSuite TLSv1.3 ...): only the
            # TLS 1.2-and-below list is judged here.
            suite_args = suite["args"] if suite else [APACHE_CIPHERS]
            if len(suite_args) > 1 and suite_args[0].upper().startswith(("SSL", "TLS")):
                suite_args = [APACHE_CIPHERS] if suite_args[0].upper() == "TLSV1.3" else suite_args[1:]
            protocols = apache_protocols(proto["args"] if proto else ["all", "-SSLv3"])
            facts.update(_tls_facts(facts, protocols, " ".join(suite_args)))
        else:
            facts.update(_tls_facts(facts, None, None))
        servers.append(facts)
    tokens = _last(global_, "ServerTokens")
    signature = _last(global_, "ServerSignature")
    return {
        "present": True, "config_path": path,
        "server_tokens": tokens["args"][0].lower() if tokens and tokens["args"] else "full",
        "server_signature": signature["args"][0].lower() if signature and signature["args"] else "off",
        "listen": [" ".join(d["args"]) for d in global_ if d["name"].lower() == "listen"],
    }, servers


_WHERE = {"name": fs.STR, "file": fs.STR, "line": fs.INT}
_SERVERS = fs.list_of(fs.record(
    software=fs.enum("nginx", "apache"), file=fs.STR, line=fs.INT, name=fs.STR,
    server_names=fs.list_of(fs.STR), listen=fs.list_of(fs.STR), tls_enabled=fs.BOOL,
    protocols=fs.list_of(fs.STR), ciphers=fs.nullable(fs.STR),
    enabled_protocols=fs.list_of(fs.record(protocol=fs.STR, **_WHERE)),
    enabled_suites=fs.list_of(fs.record(suite=fs.STR, **_WHERE)),
    prefer_server_ciphers=fs.BOOL, hsts=fs.BOOL, hsts_max_age=fs.INT,
    certificate=fs.nullable(fs.STR), certificate_exists=fs.nullable(fs.BOOL),
    optional={"server_tokens": fs.STR}))  # nginx servers only


class WebserverTlsProbe(Probe):
    """nginx and Apache httpd: servers, their TLS protocols and ciphers, HSTS and version disclosure.

    Facts: present (either server's main config exists), nginx {present, config_path, version,
    version_source (param / dpkg / assumed), server_tokens (http level)}, apache {present,
    config_path, server_tokens (lower-case, default full), server_signature, listen},
    servers (every nginx `server` block and Apache VirtualHost: {software, file, line, name,
    server_names, listen, tls_enabled, protocols (effective list), ciphers (effective cipher
    string), enabled_protocols and enabled_suites (one entry per protocol and per suite the
    cipher string selects: {protocol or suite, name, file, line}), prefer_server_ciphers, hsts,
    hsts_max_age, certificate, certificate_exists; nginx also server_tokens}), tls_servers
    (the servers with TLS enabled), files, errors.
    """

    name = "webserver_tls"
    description = "nginx / Apache httpd TLS, HSTS and version-disclosure configuration"
    target_kinds = frozenset({TargetKind.HOST})
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "nginx_version": {"type": "string", "pattern": r"^\d+\.\d+(\.\d+)?$",
                              "description": "nginx version whose defaults apply"},
        },
    }

    facts = fs.record(
        present=fs.BOOL,
        nginx=fs.record(present=fs.BOOL, config_path=fs.STR, version=fs.nullable(fs.STR),
                        version_source=fs.nullable(fs.enum("param", "dpkg", "assumed")),
                        server_tokens=fs.nullable(fs.STR)),
        apache=fs.record(present=fs.BOOL, config_path=fs.nullable(fs.STR),
                         server_tokens=fs.nullable(fs.STR), server_signature=fs.nullable(fs.STR),
                         listen=fs.list_of(fs.STR)),
        servers=_SERVERS, tls_servers=_SERVERS, files=fs.list_of(fs.STR), errors=fs.list_of(fs.STR),
    )

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        host = host_of(target)
        reader = Reader(host)
        nginx, nginx_servers = nginx_facts(host, reader, params.get("nginx_version"))
        ctx.check_deadline()
        apache, apache_servers = apache_facts(host, reader)
        servers = nginx_servers + apache_servers
        return {
            "present": nginx["present"] or apache["present"],
            "nginx": nginx,
            "apache": apache,
            "servers": servers,
            "tls_servers": [s for s in servers if s["tls_enabled"]],
            "files": reader.files,
            "errors": reader.errors,
        }
