"""One TLS context per process for every HTTPS client of the engine (model SDKs, search backends).

Building a context loads the CA bundle: about 50 ms of CPU, and the engine's clients are made per model
request and per search, on the one event loop every run's agents share. With 32 runs at once that was
most of the worker's CPU and seconds of event-loop lag. A context is safe to share between clients and
threads; it is built with the HTTP library's defaults (certifi's bundle, SSL_CERT_FILE / SSL_CERT_DIR).
"""

from __future__ import annotations

import ssl
from functools import cache


@cache
def shared_tls_context() -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context()
