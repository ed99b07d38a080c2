"""The TLS context each Docker Hub transport gets: verifying for https, built once; none loaded for http."""

from __future__ import annotations

import ssl

from hub.client import tls_for


def test_https_gets_one_shared_verifying_context() -> None:
    context = tls_for("https://hub.docker.com")
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # the CA bundle is loaded
    # Loading the bundle is the costly part: every client of every instance shares the one context.
    assert tls_for("https://hub.example.com:8443") is context


def test_plain_http_loads_no_ca_bundle_and_would_refuse_any_tls() -> None:
    context = tls_for("http://127.0.0.1:8000")
    assert context.cert_store_stats()["x509_ca"] == 0
    # Never used (the transport only talks plain HTTP to the emulator or a local proxy); if it were,
    # it demands a verified certificate from a CA it does not have, so it would fail, not trust.
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
