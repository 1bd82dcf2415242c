"""Where a webhook may be sent: the guard against server-side request forgery.

A webhook URL is the organisation's choice, so without a guard any admin could make the gateway
call its own network (Postgres, Redis, the cloud's metadata service at 169.254.169.254) and read
the answer codes in the delivery log. The rules:

* ``https`` only; ``http`` only with ``GATEWAY_WEBHOOK_ALLOW_PRIVATE=on`` (development, tests:
  a webhook body carries patients' names and addresses, which do not cross the internet in clear);
* no user or password in the URL (``Authorization`` goes in the subscription's headers);
* every address the host resolves to must be a global unicast address: loopback, private,
  link-local, shared (CGNAT), multicast, reserved and unspecified addresses are refused, also
  when written as IPv4-mapped, 6to4, Teredo or NAT64 IPv6 addresses.

The check runs when a subscription is made or changed (422 ``webhook_url_refused``) and again at
every connection the sender opens: :class:`GuardedBackend` resolves the name, checks the
addresses and connects to the address it checked, so a name that resolves differently a moment
later (DNS rebinding) cannot slip a private address in between the check and the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpcore
import httpx

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Host and port to the addresses to try, in order (tests pass their own)."""

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
MAX_URL_LENGTH = 2000
KINDS = (
    ("loopback", "a loopback address"),
    ("link_local", "a link-local address"),
    ("multicast", "a multicast address"),
    ("unspecified", "the unspecified address"),
    ("private", "a private address"),
    ("reserved", "a reserved address"),
)


class UrlRefused(ValueError):
    """A webhook URL the gateway will not call; the message says why (shown to the admin)."""


def parse(url: str, *, allow_private: bool) -> SplitResult:
    """Check the shape of a webhook URL (scheme, host, no credentials), without resolving it.

    Raises:
        UrlRefused: with the reason.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise UrlRefused("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"not a URL: {exc}") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise UrlRefused(f"the scheme must be {' or '.join(schemes)}")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("the URL may not carry a user or password (put Authorization in headers)")
    if not parts.hostname:
        raise UrlRefused("the URL has no host")
    if port == 0:
        raise UrlRefused("port 0 cannot be called")
    return parts


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refused_address(ip: IP) -> str | None:
    """Why the gateway must not call ``ip`` (``None``: a global unicast address, fine)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return f"{ip} is a scoped (link-local) address"
        inner = embedded_ipv4(ip)
        why = refused_address(inner) if inner is not None else None
        if why is not None:
            return f"{ip} stands for {inner}: {why}"
    for kind, phrase in KINDS:
        if getattr(ip, f"is_{kind}"):
            return f"{ip} is {phrase}"
    if not ip.is_global:  # shared address space (100.64/10), documentation ranges, …
        return f"{ip} is not a public address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host`` (TCP), without duplicates."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


def literal(host: str) -> IP | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def addresses(host: str, port: int, *, allow_private: bool, resolve: Resolver = system_resolver) -> list[str]:
    """Resolve ``host`` and check every address it has: one refused address refuses the host
    (a name with a public and a private address could be steered to either).

    Raises:
        UrlRefused: the name does not resolve, or to an address the gateway must not call.
    """
    ip = literal(host)
    if ip is not None:
        found = [str(ip)]
    else:
        try:
            found = await resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise UrlRefused(f"{host} does not resolve ({exc})") from None
        if not found:
            raise UrlRefused(f"{host} does not resolve")
    if not allow_private:
        for address in found:
            why = refused_address(ipaddress.ip_address(address.split("%")[0]))
            if why is not None:
                raise UrlRefused(f"{host} resolves to a non-public address: {why}")
    return found


async def check_url(url: str, *, allow_private: bool, resolve: Resolver = system_resolver) -> str:
    """Check a webhook URL as a subscription is made or changed (shape, then every address).

    Returns:
        The URL, as given.

    Raises:
        UrlRefused: with the reason.
    """
    parts = parse(url, allow_private=allow_private)
    assert parts.hostname is not None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    await addresses(parts.hostname, port, allow_private=allow_private, resolve=resolve)
    return url


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the guard has just checked.

    The connection is made to the checked IP address; TLS still names the URL's host (SNI and
    certificate check use the origin's host, not the address), so nothing else changes.
    """

    def __init__(self, *, allow_private: bool, resolve: Resolver = system_resolver) -> None:
        self.allow_private = allow_private
        self.resolve = resolve
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        checked = await addresses(host, port, allow_private=self.allow_private, resolve=self.resolve)
        error: Exception | None = None
        for address in checked:  # the next address when one does not answer, like a browser
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UrlRefused("webhooks are sent over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over :class:`GuardedBackend`: every connection it opens is checked.

    No proxy from the environment (``HTTPS_PROXY``): a proxy would connect on our behalf to
    addresses the guard never saw. ``ssl_context``: one made with :func:`httpx.create_ssl_context`
    (loading the CA bundle takes tens of milliseconds: share one between transports).
    """

    def __init__(
        self, ssl_context: ssl.SSLContext, *, allow_private: bool, resolve: Resolver = system_resolver
    ) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx offers no public way to choose the network backend; its pool takes one.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, network_backend=GuardedBackend(allow_private=allow_private, resolve=resolve)
        )
