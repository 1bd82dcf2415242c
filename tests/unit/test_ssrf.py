"""The webhook address guard: only https URLs whose every address is public, unless
``GATEWAY_WEBHOOK_ALLOW_PRIVATE=on`` (no request is sent here: names resolve through test resolvers,
or the system's for ``localhost``)."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.webhooks.ssrf import Resolver, UrlRefused, addresses, check_url, parse, refused_address


def resolver(table: dict[str, list[str]]) -> Resolver:
    """A resolver answering from ``table`` (other names do not resolve)."""

    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"no such host {host}")
        return table[host]

    return resolve


REFUSED = [
    "127.0.0.1", "127.1.2.3", "10.0.0.5", "172.16.4.4", "192.168.1.1", "169.254.169.254", "169.254.1.1",
    "100.64.0.1", "0.0.0.0",  # noqa: S104 - an address refused, not bound
    "224.0.0.251", "255.255.255.255", "240.0.0.1", "192.0.2.10",
    "::1", "::", "fe80::1", "fd00:ec2::254", "fc00::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",  # IPv4-mapped
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
]  # fmt: skip
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refused_address(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refused_address(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",  # clear text: only with allow_private
        "ftp://hooks.example.com/x",
        "file:///etc/passwd",
        "gopher://hooks.example.com/",
        "https://user:pass@hooks.example.com/x",
        "https://token@hooks.example.com/x",
        "https:///x",
        "https://hooks.example.com:99999/x",
        "https://hooks.example.com:0/x",
        "https://hooks.example.com/a b",
        "https://hooks.example.com/\r\nHost: evil",
        "hooks.example.com/x",
        "https://" + "a" * 2000 + ".com/",
    ],
)
def test_only_https_urls_without_credentials_pass(url: str) -> None:
    with pytest.raises(UrlRefused):
        parse(url, allow_private=False)


def test_http_is_for_private_use_only() -> None:
    assert parse("http://127.0.0.1:8080/hook", allow_private=True).port == 8080
    assert parse("https://hooks.example.com/x", allow_private=False).hostname == "hooks.example.com"
    with pytest.raises(UrlRefused, match="https"):
        parse("ftp://127.0.0.1/", allow_private=True)
    with pytest.raises(UrlRefused, match="user or password"):
        parse("http://a:b@127.0.0.1/", allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3:8443/hook",
        "https://169.254.169.254/latest/meta-data/",  # the cloud's metadata service
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fd00:ec2::254]/latest/meta-data/",
        "https://internal.example/hook",  # resolves to a private address
        "https://metadata.example/hook",  # resolves to the metadata address
        "https://mixed.example/hook",  # one public and one private address: either could be used
        "https://nowhere.example/hook",  # does not resolve: cannot be checked
    ],
)
async def test_urls_reaching_non_public_addresses_are_refused(url: str) -> None:
    resolve = resolver({
        "internal.example": ["192.168.0.10"], "metadata.example": ["169.254.169.254"],
        "mixed.example": ["93.184.215.14", "10.0.0.7"], "public.example": ["93.184.215.14"],
    })  # fmt: skip
    with pytest.raises(UrlRefused):
        await check_url(url, allow_private=False, resolve=resolve)


async def test_public_names_and_addresses_pass() -> None:
    resolve = resolver({"public.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    assert await check_url("https://public.example/hook", allow_private=False, resolve=resolve)
    assert await check_url("https://93.184.215.14:8443/hook", allow_private=False, resolve=resolve)
    assert await addresses("public.example", 443, allow_private=False, resolve=resolve) == [
        "93.184.215.14",
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    ]


async def test_localhost_through_the_system_resolver_is_refused() -> None:
    with pytest.raises(UrlRefused, match="loopback"):
        await check_url("https://localhost:8443/hook", allow_private=False)


async def test_allow_private_lets_private_addresses_through() -> None:
    resolve = resolver({"internal.example": ["192.168.0.10"]})
    for url in ("http://127.0.0.1:9000/hook", "https://internal.example/hook", "https://169.254.169.254/x"):
        assert await check_url(url, allow_private=True, resolve=resolve) == url
    with pytest.raises(UrlRefused, match="does not resolve"):
        await check_url("https://nowhere.example/", allow_private=True, resolve=resolve)
