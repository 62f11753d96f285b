"""Where webhooks may connect: resolve once, check every address, then connect to that address.

Link-local and cloud metadata addresses are always refused (they hand out credentials);
private and loopback ones only when configured. The request then goes to the checked IP (with the
original Host header and TLS server name), so DNS cannot answer differently a moment later
(rebinding) and the connected peer is the address that was checked.
"""

from __future__ import annotations

import ipaddress
import socket

import httpx

_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
}

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class EgressRefused(Exception):
    """The destination resolves to an address outbound requests must not reach."""


def allowed(ip: IpAddress, allow_private: bool) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA or ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return False
    if ip.is_loopback or ip.is_private or ip.is_reserved:
        return allow_private
    return ip.is_global


def pin(url: httpx.URL, allow_private: bool) -> tuple[httpx.URL, dict[str, str], dict]:
    """The URL to request (host replaced by a checked IP), the Host header and extensions.

    Raises EgressRefused, or OSError when the name does not resolve (worth retrying).
    """
    if url.scheme not in ("http", "https") or not url.host:
        raise EgressRefused(f"only http(s) URLs with a host are allowed, not {url.scheme!r}")
    port = url.port or (443 if url.scheme == "https" else 80)
    infos = socket.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    refused = [str(ip) for ip in addresses if not allowed(ip, allow_private)]
    if not addresses or refused:
        raise EgressRefused(f"{url.host} resolves to a refused address ({', '.join(refused)})")
    headers = {"Host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    return url.copy_with(host=str(addresses[0])), headers, extensions
