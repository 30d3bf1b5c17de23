"""HTTP service probe: security headers, server version disclosure, redirect to HTTPS."""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from typing import Any

from smbaudit.errors import ProbeError
from smbaudit.models import TargetKind
from smbaudit.probes import _wire
from smbaudit.probes import factschema as fs
from smbaudit.probes.base import Facts, Probe, ProbeContext
from smbaudit.targets.base import ServiceTarget, Target

HTTP_SERVICES = frozenset({"http", "https", "http-alt", "https-alt", "http-proxy", "http-mgmt"})
_VERSION = re.compile(r"\d+\.\d+")


class HttpProbe(Probe):
    """One GET of `path` (default /) over HTTP or HTTPS, without following redirects.

    Facts: endpoint, https (bool), status, location (redirect target or null),
    redirects_to_https (plain HTTP answered with a 301/302/303/307/308 to an https:// URL),
    server (Server header or null), powered_by (X-Powered-By or null),
    server_version_disclosed (a version number in Server or X-Powered-By),
    headers.{hsts,csp,x_content_type_options,x_frame_options,referrer_policy} (values or null),
    frame_protection (X-Frame-Options DENY/SAMEORIGIN or CSP frame-ancestors),
    nosniff (X-Content-Type-Options: nosniff), serves_content (not a redirect).
    """

    name = "http"
    description = "HTTP security headers, version disclosure and redirect to HTTPS"
    target_kinds = frozenset({TargetKind.SERVICE})
    services = HTTP_SERVICES
    params_schema = {"type": "object", "additionalProperties": False,
                     "properties": {"path": {"type": "string", "pattern": "^/"}}}

    def service_matches(self, target: Target) -> bool:
        service = getattr(target, "service", "")
        return service in self.services or service.startswith("http")

    _text = fs.nullable(fs.STR)
    facts = fs.record(
        endpoint=fs.STR, https=fs.BOOL, status=fs.INT, location=_text,
        redirects_to_https=fs.BOOL, serves_content=fs.BOOL, server=_text, powered_by=_text,
        server_version_disclosed=fs.BOOL,
        headers=fs.record(hsts=_text, csp=_text, x_content_type_options=_text,
                          x_frame_options=_text, referrer_policy=_text),
        frame_protection=fs.BOOL, nosniff=fs.BOOL,
    )
    del _text

    def collect(self, target: Target, params: Mapping[str, Any], ctx: ProbeContext) -> Facts:
        if not isinstance(target, ServiceTarget):
            raise ProbeError(f"{target.name} is not a network service")
        https = target.tunnel == "ssl" or target.service in ("https", "https-alt")
        sock = target.connect(ctx.io_timeout())
        try:
            if https:
                try:
                    sock = _wire.permissive_tls_context().wrap_socket(
                        sock, server_hostname=target.hostname or None)
                except ssl.SSLError as exc:
                    raise ProbeError(f"TLS handshake failed: {exc}") from None
            host = _wire.host_header(target.address, target.port, target.hostname, 443 if https else 80)
            resp = _wire.http_get(sock, host, params.get("path", "/"), ctx.deadline)
        finally:
            sock.close()
        location = resp.header("location")
        redirect = resp.status in (301, 302, 303, 307, 308)
        server, powered = resp.header("server"), resp.header("x-powered-by")
        csp = resp.header("content-security-policy")
        xfo = resp.header("x-frame-options")
        xcto = resp.header("x-content-type-options")
        return {
            "endpoint": target.endpoint,
            "https": https,
            "status": resp.status,
            "location": location,
            "redirects_to_https": bool(redirect and location and location.lower().startswith("https://")),
            "serves_content": not redirect,
            "server": server,
            "powered_by": powered,
            "server_version_disclosed": bool(_VERSION.search(server or "") or _VERSION.search(powered or "")),
            "headers": {"hsts": resp.header("strict-transport-security"), "csp": csp,
                        "x_content_type_options": xcto, "x_frame_options": xfo,
                        "referrer_policy": resp.header("referrer-policy")},
            "frame_protection": bool((xfo and xfo.strip().upper() in ("DENY", "SAMEORIGIN"))
                                     or (csp and "frame-ancestors" in csp.lower())),
            "nosniff": (xcto or "").strip().lower() == "nosniff",
        }
