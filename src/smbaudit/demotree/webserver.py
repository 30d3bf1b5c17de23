"""Web servers: nginx (nested includes) and Apache httpd (Debian layout) with TLS settings."""

from __future__ import annotations

import datetime
from pathlib import Path

from smbaudit.demotree._util import write

NGINX_BAD = """user www-data;
worker_processes auto;
events { worker_connections 768; }
http {
    sendfile on;
    include /etc/nginx/mime.types;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE
    ssl_prefer_server_ciphers on;
    include /etc/nginx/conf.d/*.conf;
    include /etc/nginx/sites-enabled/*;
}
"""

NGINX_GOOD = """user www-data;
worker_processes auto;
events { worker_connections 768; }
http {
    sendfile on;
    server_tokens off;
    include /etc/nginx/mime.types;
    include /etc/nginx/conf.d/*.conf;
    include /etc/nginx/sites-enabled/*;
}
"""

NGINX_TLS_GOOD = """# Mozilla intermediate configuration
ssl_protocols TLSv1.2 TLSv1.3;
ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
ssl_prefer_server_ciphers off;
ssl_session_timeout 1d;
"""

SHOP_BAD = """server {
    listen 443 ssl;
    listen [::]:443 ssl;
    server_name shop.example.com;
    ssl_certificate /etc/nginx/tls/shop.crt;
    ssl_certificate_key /etc/nginx/tls/shop.key;
    include snippets/legacy-clients.conf;
    root /var/www/shop;
}
server {
    listen 80 default_server;
    server_name _;
    return 301 https://$host$request_uri;
}
"""

SHOP_GOOD = """server {
    listen 443 ssl http2;
    listen [::]:443 ssl http2;
    server_name shop.example.com;
    ssl_certificate /etc/nginx/tls/shop.crt;
    ssl_certificate_key /etc/nginx/tls/shop.key;
    add_header Strict-Transport-Security "max-age=63072000" always;
    add_header X-Content-Type-Options nosniff;
    root /var/www/shop;
}
server {
    listen 80 default_server;
    server_name _;
    return 301 https://$host$request_uri;
}
"""

LEGACY_SNIPPET = "# for old tills in the shop\ninclude snippets/ciphers.conf;\n"
LEGACY_CIPHERS = "ssl_ciphers HIGH:MEDIUM:!aNULL;\n"

APACHE_MAIN = """ServerRoot "/etc/apache2"
DefaultRuntimeDir ${APACHE_RUN_DIR}
Timeout 300
IncludeOptional mods-enabled/*.load
IncludeOptional mods-enabled/*.conf
Include ports.conf
<Directory />
    Options FollowSymLinks
    AllowOverride None
    Require all denied
</Directory>
IncludeOptional conf-enabled/*.conf
IncludeOptional sites-enabled/*.conf
"""

PORTS = "Listen 80\n<IfModule ssl_module>\n    Listen 443\n</IfModule>\n"

SECURITY_BAD = "ServerTokens OS\nServerSignature On\nTraceEnable Off\n"
SECURITY_GOOD = "ServerTokens Prod\nServerSignature Off\nTraceEnable Off\n"

VHOST_BAD = """<IfModule mod_ssl.c>
    <VirtualHost _default_:443>
        ServerName intranet.example.com
        DocumentRoot /var/www/intranet
        SSLEngine on
        SSLProtocol all -SSLv3
        SSLCertificateFile /etc/apache2/tls/intranet.crt
        SSLCertificateKeyFile /etc/apache2/tls/intranet.key
    </VirtualHost>
</IfModule>
"""

VHOST_GOOD = """<IfModule mod_ssl.c>
    <VirtualHost _default_:443>
        ServerName intranet.example.com
        DocumentRoot /var/www/intranet
        SSLEngine on
        SSLProtocol -all +TLSv1.2 +TLSv1.3
        SSLCipherSuite ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305
        SSLHonorCipherOrder off
        Header always set Strict-Transport-Security "max-age=63072000"
        SSLCertificateFile /etc/apache2/tls/intranet.crt
        SSLCertificateKeyFile /etc/apache2/tls/intranet.key
    </VirtualHost>
</IfModule>
"""

FAILING = [
    "webserver.tls-legacy-protocols", "webserver.tls-weak-ciphers", "webserver.hsts",
    "webserver.tls-certificate-present", "webserver.nginx-server-tokens",
    "webserver.apache-server-tokens", "webserver.apache-server-signature",
]


def _certificate(cn: str) -> str:
    """A self-signed certificate (PEM) valid for a year from now; the key is not kept."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def build(root: Path, hardened: bool) -> list[str]:
    write(root, "/etc/nginx/nginx.conf", NGINX_GOOD if hardened else NGINX_BAD)
    write(root, "/etc/nginx/mime.types", "types {\n    text/html html htm;\n}\n")
    write(root, "/etc/nginx/sites-enabled/shop", SHOP_GOOD if hardened else SHOP_BAD)
    write(root, "/etc/apache2/apache2.conf", APACHE_MAIN)
    write(root, "/etc/apache2/ports.conf", PORTS)
    write(root, "/etc/apache2/mods-enabled/ssl.load",
          "LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n")
    write(root, "/etc/apache2/conf-enabled/security.conf", SECURITY_GOOD if hardened else SECURITY_BAD)
    write(root, "/etc/apache2/sites-enabled/default-ssl.conf", VHOST_GOOD if hardened else VHOST_BAD)
    write(root, "/etc/apache2/tls/intranet.crt", _certificate("intranet.example.com"))
    if hardened:
        write(root, "/etc/nginx/conf.d/tls.conf", NGINX_TLS_GOOD)
        write(root, "/etc/nginx/tls/shop.crt", _certificate("shop.example.com"))
    else:
        write(root, "/etc/nginx/snippets/legacy-clients.conf", LEGACY_SNIPPET)
        write(root, "/etc/nginx/snippets/ciphers.conf", LEGACY_CIPHERS)
    return list(FAILING)
