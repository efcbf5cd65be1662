"""The outbound URL guard's rules, without any network."""

from __future__ import annotations

import ipaddress

import pytest

from api.net import OutboundPolicy, UnsafeURL, check_url, is_public_address

STRICT = OutboundPolicy()
LOOPBACK_OK = OutboundPolicy(allow_loopback=True)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.2.1",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "2001:db8::1",
    ],
)
def test_non_public_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "142.250.74.78", "2a00:1450:4001:82b::200a", "::ffff:8.8.8.8"])
def test_public_addresses_are_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://push.example.com/abc",
        "ftp://push.example.com/abc",
        "file:///etc/passwd",
        "https://user:secret@push.example.com/abc",
        "https://127.0.0.1/abc",
        "https://[::1]/abc",
        "https://[::ffff:127.0.0.1]/abc",
        "https://10.0.0.7:8443/abc",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fe80::1]/abc",
        "//push.example.com/abc",
        "https:///abc",
    ],
)
def test_urls_that_are_not_public_https_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, STRICT)


def test_a_public_https_url_passes_the_form_check() -> None:
    assert check_url("https://fcm.googleapis.com/fcm/send/abc", STRICT).hostname == "fcm.googleapis.com"


def test_the_loopback_setting_admits_loopback_over_http_and_nothing_else() -> None:
    check_url("http://127.0.0.1:8123/push/abc", LOOPBACK_OK)
    check_url("http://[::1]:8123/push/abc", LOOPBACK_OK)
    check_url("http://localhost:8123/push/abc", LOOPBACK_OK)
    for url in ("http://10.0.0.1/abc", "http://push.example.com/abc", "https://169.254.169.254/"):
        with pytest.raises(UnsafeURL):
            check_url(url, LOOPBACK_OK)
