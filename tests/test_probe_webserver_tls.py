"""webserver_tls probe: nginx and Apache parsing, inheritance, defaults, cipher strings."""

from __future__ import annotations

from pathlib import Path

from hostcfg_util import collect, put, snapshot
from smbaudit import resources
from smbaudit.packs.loader import load_packs
from smbaudit.probes._cipherstring import SUITES, expand
from smbaudit.probes.webserver_tls import apache_protocols, nginx_default_protocols


def _check_value(check_id: str) -> list[str]:
    check = next(c for c in load_packs([resources.checks_dir() / "webserver"]) if c.id == check_id)
    item = check.condition.items[0]
    return list(getattr(item, "value"))


WEAK = set(_check_value("webserver.tls-weak-ciphers"))  # the check decides which suites are weak


def weak_ciphers(cipher_string: str) -> list[str]:
    return [n for n in expand(cipher_string) if n in WEAK]


def test_the_weak_cipher_check_lists_every_weak_suite_of_the_table() -> None:
    assert WEAK == {s.name for s in SUITES if s.enc in ("RC4", "3DES", "DES", "NULL") or s.export
                    or s.au == "NULL" or s.mac == "MD5"}
    assert set(_check_value("webserver.tls-legacy-protocols")) == {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"}


def test_cipher_string_semantics() -> None:
    assert weak_ciphers("HIGH:!aNULL:!MD5") == []
    high = weak_ciphers("HIGH")                                     # HIGH includes anonymous suites
    assert high and all(n.startswith(("ADH-", "AECDH-")) for n in high)
    assert "RC4-SHA" in weak_ciphers("ALL:!aNULL")
    assert weak_ciphers("DEFAULT") == []
    assert weak_ciphers("RC4-SHA:-RC4:RC4-MD5") == ["RC4-MD5"]     # - removes, may be re-added
    assert weak_ciphers("RC4-SHA:!RC4:RC4-MD5") == []              # ! removes for good
    assert expand("ECDHE+AESGCM") == ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
                                      "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"]
    assert expand("AES128-SHA:AES256-SHA:+AES128-SHA") == ["AES256-SHA", "AES128-SHA"]
    assert "DES-CBC3-SHA" in weak_ciphers("HIGH:MEDIUM:!aNULL")   # 3DES is MEDIUM
    assert weak_ciphers("EXPORT:@STRENGTH") == ["EXP-RC4-MD5", "EXP-DES-CBC-SHA"]


def test_apache_protocol_syntax() -> None:
    assert apache_protocols(["all", "-SSLv3"]) == ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert apache_protocols(["-all", "+TLSv1.2", "+tlsv1.3"]) == ["TLSv1.2", "TLSv1.3"]
    assert apache_protocols(["TLSv1.2"]) == ["TLSv1.2"]
    assert apache_protocols(["TLSv1", "TLSv1.2"]) == ["TLSv1.2"]   # a bare name replaces the set
    assert apache_protocols(["+SSLv3", "+TLSv1.2"]) == ["SSLv3", "TLSv1.2"]


def test_nginx_default_protocols_by_version() -> None:
    assert nginx_default_protocols("1.22.1") == ["TLSv1", "TLSv1.1", "TLSv1.2"]
    assert nginx_default_protocols("1.23.4") == ["TLSv1.2", "TLSv1.3"]
    assert nginx_default_protocols("1.26") == ["TLSv1.2", "TLSv1.3"]


NGINX = """
# comment with { braces }
http {
    server_tokens off;
    ssl_ciphers 'HIGH:!aNULL';
    add_header Strict-Transport-Security "max-age=31536000";
    include conf.d/*.conf;
    server {
        listen 443 ssl;
        server_name a.example;
        ssl_certificate certs/a.pem;
    }
    server {
        listen 8443 ssl;
        server_name b.example;
        add_header X-Frame-Options DENY;   # replaces the inherited HSTS header
        ssl_protocols TLSv1.2;
        server_tokens build;
    }
    server { listen 80; server_name c.example; }
}
"""


def test_nginx_servers_inheritance_and_nested_includes(tmp_path: Path) -> None:
    put(tmp_path, "/etc/nginx/nginx.conf", NGINX)
    put(tmp_path, "/etc/nginx/conf.d/10-tls.conf", "include snippets/proto.conf;\n")
    put(tmp_path, "/etc/nginx/snippets/proto.conf", "ssl_protocols TLSv1.1 TLSv1.2;\n")
    put(tmp_path, "/etc/nginx/certs/a.pem", "x\n")
    f = collect("webserver_tls", tmp_path, {"nginx_version": "1.24.0"})
    assert f["nginx"]["version"] == "1.24.0" and f["nginx"]["server_tokens"] == "off"
    assert f["files"] == ["/etc/nginx/nginx.conf", "/etc/nginx/conf.d/10-tls.conf",
                          "/etc/nginx/snippets/proto.conf"]
    a, b, c = f["servers"]
    assert a["protocols"] == ["TLSv1.1", "TLSv1.2"]
    assert a["enabled_protocols"][0] == {"protocol": "TLSv1.1", "name": a["name"],
                                         "file": "/etc/nginx/nginx.conf", "line": 8}
    assert a["ciphers"] == "HIGH:!aNULL" and [e["suite"] for e in a["enabled_suites"]] == expand("HIGH:!aNULL")
    assert weak_ciphers(a["ciphers"]) == []
    assert a["hsts"] is True and a["hsts_max_age"] == 31536000
    assert a["certificate"] == "/etc/nginx/certs/a.pem" and a["certificate_exists"] is True
    assert a["line"] == 8 and a["file"] == "/etc/nginx/nginx.conf"
    assert b["protocols"] == ["TLSv1.2"] and b["hsts"] is False and b["server_tokens"] == "build"
    assert b["certificate"] is None and b["certificate_exists"] is False
    assert c["tls_enabled"] is False and c["protocols"] == []
    put(tmp_path, "/etc/nginx/conf.d/20-cert.conf", "ssl_certificate /etc/ssl/$ssl_server_name.pem;\n")
    b2 = collect("webserver_tls", tmp_path)["servers"][1]
    assert b2["certificate"] == "/etc/ssl/$ssl_server_name.pem" and b2["certificate_exists"] is None
    assert [s["name"] for s in f["tls_servers"]] == ["a.example", "b.example"]


def test_nginx_defaults_from_dpkg_and_ssl_on(tmp_path: Path) -> None:
    put(tmp_path, "/etc/nginx/nginx.conf", "http { server { listen 443; ssl on; } }\n")
    put(tmp_path, "/var/lib/dpkg/status", "Package: nginx-core\nStatus: install ok installed\n"
        "Version: 1.18.0-6ubuntu14\n\nPackage: other\nVersion: 9\n")
    f = collect("webserver_tls", tmp_path)
    assert f["nginx"]["version_source"] == "dpkg"
    (srv,) = f["tls_servers"]
    assert srv["protocols"] == ["TLSv1", "TLSv1.1", "TLSv1.2"]
    assert srv["ciphers"] == "HIGH:!aNULL:!MD5" and f["nginx"]["server_tokens"] == "on"


def test_nginx_include_cycle(tmp_path: Path) -> None:
    put(tmp_path, "/etc/nginx/nginx.conf", "include a.conf;\nhttp { include b.conf; }\n")
    put(tmp_path, "/etc/nginx/a.conf", "include nginx.conf;\n")
    put(tmp_path, "/etc/nginx/b.conf", "server { listen 443 ssl; include b.conf; }\n")
    f = collect("webserver_tls", tmp_path)
    assert len(f["servers"]) == 1
    assert sum("include cycle" in e for e in f["errors"]) == 2


APACHE = """ServerRoot "/etc/httpd"
Include conf.modules.d/*.conf
ServerTokens Prod
SSLProtocol all -SSLv3 -TLSv1
SSLCipherSuite HIGH:!aNULL
Header always set Strict-Transport-Security "max-age=63072000; includeSubDomains"
<IfModule !mod_ssl.c>
    SSLProtocol +SSLv3
</IfModule>
IncludeOptional conf.d
<VirtualHost *:443>
    ServerName www.example
    SSLEngine on
    SSLCertificateFile /etc/pki/tls/certs/www.crt
</VirtualHost>
"""


def test_apache_rhel_layout_includes_and_inheritance(tmp_path: Path) -> None:
    put(tmp_path, "/etc/httpd/conf/httpd.conf", APACHE)
    put(tmp_path, "/etc/httpd/conf.modules.d/00-ssl.conf", "LoadModule ssl_module modules/mod_ssl.so\n")
    put(tmp_path, "/etc/httpd/conf.d/ssl.conf", (
        "Listen 443 https\n"
        "<VirtualHost _default_:443>\n"
        "  SSLEngine on\n"
        "  SSLProtocol -all +TLSv1.2 \\\n"
        "      +TLSv1.1\n"
        "  SSLCipherSuite RC4-SHA:HIGH:!aNULL\n"
        "  SSLHonorCipherOrder on\n"
        "</VirtualHost>\n"
        "<VirtualHost *:80>\n  ServerName plain\n</VirtualHost>\n"))
    f = collect("webserver_tls", tmp_path)
    ap = f["apache"]
    assert ap["config_path"] == "/etc/httpd/conf/httpd.conf" and ap["server_tokens"] == "prod"
    assert ap["server_signature"] == "off" and ap["listen"] == ["443 https"]
    ssl, plain, www = f["servers"]   # conf.d is included before the main file's vhost
    assert www["protocols"] == ["TLSv1.1", "TLSv1.2", "TLSv1.3"]       # global, -TLSv1
    assert weak_ciphers(www["ciphers"]) == []
    assert www["hsts"] is True and www["certificate_exists"] is False
    assert ssl["file"] == "/etc/httpd/conf.d/ssl.conf" and ssl["line"] == 2
    assert ssl["protocols"] == ["TLSv1.1", "TLSv1.2"] and ssl["prefer_server_ciphers"] is True
    assert weak_ciphers(ssl["ciphers"]) == ["RC4-SHA"]
    assert plain["tls_enabled"] is False
    assert [s["name"] for s in f["tls_servers"]] == ["_default_:443", "www.example"]


def test_apache_debian_defaults(tmp_path: Path) -> None:
    put(tmp_path, "/etc/apache2/apache2.conf", "IncludeOptional sites-enabled/*.conf\n")
    put(tmp_path, "/etc/apache2/sites-enabled/s.conf",
        "<VirtualHost *:443>\nSSLEngine On\n</VirtualHost>\n")
    f = collect("webserver_tls", tmp_path)
    (srv,) = f["tls_servers"]
    assert srv["protocols"] == ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert srv["ciphers"] == "DEFAULT" and f["apache"]["server_tokens"] == "full"
    assert srv["hsts"] is False and srv["hsts_max_age"] == 0


def test_no_webserver_and_unchanged_tree(tmp_path: Path) -> None:
    f = collect("webserver_tls", tmp_path)
    assert f["present"] is False and f["servers"] == []
    from smbaudit.demotree import webserver

    webserver.build(tmp_path, hardened=False)
    before = snapshot(tmp_path)
    f = collect("webserver_tls", tmp_path)
    assert f["present"] is True and len(f["tls_servers"]) == 2
    assert snapshot(tmp_path) == before
