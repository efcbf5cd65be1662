"""Refusing free tries that another site's page sends.

The free try takes a plain form post (it works without JavaScript), so it cannot carry a
CSRF token, and it sets the visitor cookie: without this check any page on the web could
post a photo of its choosing and plant the clip in a visitor's browser. Browsers say where a
request comes from (``Sec-Fetch-Site``, ``Origin``); clients that are not browsers send
neither and are let through, as is a browser that sends neither.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request

from api.errors import CrossSiteRequest

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of a URL or an ``Origin`` value; ``None`` for ``null`` or junk."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def refuse_cross_site(request: Request[Any, Any, Any], *, public_url: str) -> None:
    """Raise 403 ``CROSS_SITE_REQUEST`` for a post that another site's page sent.

    Refused: ``Sec-Fetch-Site: cross-site``, or an ``Origin`` that is not ``PUBLIC_URL``'s
    (``null`` included). Allowed: ``same-origin``/``none`` with our origin or none, and
    requests without either header.
    """
    site = (request.headers.get("sec-fetch-site") or "").strip().lower()
    origin = request.headers.get("origin")
    if site == "cross-site" or (origin is not None and origin_of(origin) != origin_of(public_url)):
        raise CrossSiteRequest(
            f"Free clips can only be started from Echoes itself. Open {public_url} and upload "
            "your photo there."
        )
