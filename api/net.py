"""The guard for outbound requests to URLs we did not choose.

Web Push endpoints come from browsers and provider output URLs from the providers' answers;
either could point our servers at something inside our own network (a metadata service, a
database, an admin port). Every such request goes through here:

- **https only** (plain http only to loopback, and only when ``OUTBOUND_ALLOW_LOOPBACK`` is
  on, for tests with local fakes; production refuses that setting);
- **public addresses only**: every address the host resolves to must be globally routable
  (no loopback, private, shared/CGNAT, link-local, multicast, reserved or unspecified
  address; IPv4-mapped, 6to4 and Teredo IPv6 addresses are judged by the IPv4 address they
  carry);
- **pinned**: the connection goes to the address that was checked, never to a second DNS
  answer (DNS rebinding). For httpx the request is sent to the checked IP with the original
  ``Host`` header and TLS server name (``sni_hostname``), so the certificate is still
  verified for the real host name. For aiohttp (Web Push) a resolver that refuses
  non-public answers hands the connector the very addresses it checked;
- **redirects re-checked**: every hop goes through the same checks (httpx: redirects are
  followed here, a few at most; aiohttp: a client middleware sees every hop).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Redirects followed (each re-checked) before a download gives up.
MAX_REDIRECTS = 3
_REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
#: 100.64.0.0/10 (carrier-grade NAT) is not "private" to Python but is not public either.
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")


class UnsafeURL(ValueError):
    """The URL may not be fetched: wrong scheme, or a host that is (or resolves to) a
    non-public address. The message names the URL's host, never its path or query (which
    may hold a signature)."""


@dataclass(frozen=True)
class OutboundPolicy:
    """``allow_loopback``: also accept http:// and https:// URLs whose host is loopback."""

    allow_loopback: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> OutboundPolicy:
        return cls(allow_loopback=bool(settings.outbound_allow_loopback))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def is_public_address(ip: IPAddress) -> bool:
    """Whether ``ip`` is a globally routable unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(embedded)
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_ADDRESS_SPACE:
        return False
    return ip.is_global and not (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
        or ip.is_reserved or ip.is_unspecified
    )


def _is_loopback(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def address_allowed(ip: IPAddress, policy: OutboundPolicy) -> bool:
    return is_public_address(ip) or (policy.allow_loopback and _is_loopback(ip))


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def check_url(url: str, policy: OutboundPolicy) -> SplitResult:
    """The URL's parts when its form is acceptable (scheme, host, no credentials, and an
    acceptable address when the host is an IP literal); :class:`UnsafeURL` otherwise.

    Host names are checked by :func:`resolve_allowed` when the request is made.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL("the URL is not well formed") from None
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeURL("the URL is not an absolute https URL")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL(f"the URL for {host} carries credentials")
    if port == 0:
        raise UnsafeURL(f"the URL for {host} has port 0")
    literal = _literal_ip(host)
    if literal is not None and not address_allowed(literal, policy):
        raise UnsafeURL(f"{host} is not a public address")
    if parts.scheme == "http":
        local_name = host == "localhost" or host.endswith(".localhost")
        if not (policy.allow_loopback and ((literal is not None and _is_loopback(literal)) or local_name)):
            raise UnsafeURL(f"the URL for {host} must use https")
    return parts


async def resolve_allowed(host: str, port: int, policy: OutboundPolicy) -> list[IPAddress]:
    """Every address ``host`` resolves to, when all of them are acceptable.

    One unacceptable answer refuses the host: a name that maps to both a public and a
    private address is an attack or a misconfiguration, and which one a client would pick
    is not ours to guess.
    """
    literal = _literal_ip(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise UnsafeURL(f"{host} could not be resolved ({exc})") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
    if not addresses:
        raise UnsafeURL(f"{host} has no address")
    refused = [str(ip) for ip in addresses if not address_allowed(ip, policy)]
    if refused:
        raise UnsafeURL(f"{host} resolves to a non-public address ({', '.join(refused)})")
    return addresses


def _default_port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


async def _pinned_request(
    client: httpx.AsyncClient, url: str, policy: OutboundPolicy, headers: dict[str, str] | None
) -> httpx.Request:
    """A GET to the checked address of ``url``'s host, still naming the host in ``Host``
    and in TLS (SNI and certificate verification)."""
    parts = check_url(url, policy)
    host = parts.hostname or ""
    port = _default_port(parts)
    address = (await resolve_allowed(host, port, policy))[0]
    netloc = f"[{address}]" if address.version == 6 else str(address)
    if parts.port:
        netloc += f":{parts.port}"
    pinned = parts._replace(netloc=netloc).geturl()
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    if ":" in host:
        host_header = f"[{host}]" if parts.port is None else f"[{host}]:{parts.port}"
    extensions = {"sni_hostname": host} if parts.scheme == "https" and _literal_ip(host) is None else {}
    return client.build_request(
        "GET", pinned, headers={**(headers or {}), "Host": host_header}, extensions=extensions
    )


@asynccontextmanager
async def guarded_get(
    client: httpx.AsyncClient,
    url: str,
    policy: OutboundPolicy,
    *,
    headers: dict[str, str] | None = None,
    max_redirects: int = MAX_REDIRECTS,
) -> AsyncIterator[httpx.Response]:
    """Stream a GET of ``url`` through the guard; redirects are followed (at most
    ``max_redirects``), each hop checked and pinned like the first.

    Raises :class:`UnsafeURL` for a URL (or a redirect target) that may not be fetched.
    """
    current = url
    for _ in range(max_redirects + 1):
        request = await _pinned_request(client, current, policy, headers)
        response = await client.send(request, stream=True, follow_redirects=False)
        location = response.headers.get("location")
        if response.status_code in _REDIRECT_STATUS and location:
            await response.aclose()
            current = urljoin(current, location)
            continue
        try:
            yield response
        finally:
            await response.aclose()
        return
    raise UnsafeURL(f"more than {max_redirects} redirects from {urlsplit(url).hostname}")


# --------------------------------------------------------------------------- aiohttp


class RefusedAddress(OSError):
    """A host name resolved to an address the policy refuses (raised inside aiohttp, which
    wraps it in ``ClientConnectorError.os_error``)."""


class AllowedAddressResolver(AbstractResolver):
    """An aiohttp resolver that answers only with acceptable addresses (else ``OSError``,
    which aiohttp reports as a connection error). The connector connects to what it returns,
    so the checked address is the one used."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        refused = [r["host"] for r in results if not address_allowed(ipaddress.ip_address(r["host"]), self._policy)]
        if refused or not results:
            raise RefusedAddress(f"{host} resolves to a non-public address ({', '.join(refused) or 'none'})")
        return results

    async def close(self) -> None:
        await self._inner.close()


def guarded_aiohttp_session(policy: OutboundPolicy, *, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
    """An aiohttp session whose every request (and every redirect hop) passes the guard.

    IP-literal URLs never reach a resolver in aiohttp, so the middleware checks each hop's
    URL form and literal address; host names are checked by :class:`AllowedAddressResolver`.
    """

    async def check_each_hop(
        request: aiohttp.ClientRequest, handler: Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]]
    ) -> aiohttp.ClientResponse:
        check_url(str(request.url), policy)
        return await handler(request)

    connector = aiohttp.TCPConnector(resolver=AllowedAddressResolver(policy))
    return aiohttp.ClientSession(timeout=timeout, connector=connector, middlewares=(check_each_hop,))
