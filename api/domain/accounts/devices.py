"""A short, human description of a browser ("Firefox on Android") from its User-Agent, and
the coarse network a session came from, for the list of signed-in devices."""

from __future__ import annotations

import ipaddress

# Order matters: Edge and Opera say "Chrome", Chrome says "Safari", so check the narrow first.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPad", "iPadOS"),
    ("iPhone", "iOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)
MAX_DEVICE_LENGTH = 120


def describe_device(user_agent: str | None) -> str:
    """``"<browser> on <system>"``, or the parts that are known, or ``"Unknown device"``."""
    ua = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in ua), None)
    system = next((name for marker, name in _SYSTEMS if marker in ua), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"


def client_network(ip: str | None) -> str | None:
    """The client's network (IPv4 /24, IPv6 /48) in CIDR form, or ``None`` if not an address."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
