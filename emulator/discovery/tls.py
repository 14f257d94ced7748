"""TLS contexts for the REST API: mutual TLS when tls_cert, tls_key and tls_ca are set.

The server requires a client certificate signed by tls_ca (CERT_REQUIRED), so
every REST call, reads included, is authenticated; clients verify the server
against the same CA. UDP gossip is not covered: see docs/discovery.md.
"""
from __future__ import annotations

import ssl


def server_context(cert: str, key: str, ca: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_context(ca: str | None, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx
