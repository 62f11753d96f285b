"""The one egress guard: where webhooks and data-source connectors may connect.

Resolve once, check every address, then connect to a checked address. Link-local and cloud
metadata addresses are always refused (they hand out credentials); private and loopback ones only
when configured (``egress_allow_private``). HTTP requests go to the checked IP (with the original
Host header and TLS server name, see ``pin``); other protocols (PostgreSQL, ...) take the list from
``check_host`` and connect to one of those IPs, keeping the host name for TLS verification. Either
way DNS cannot answer differently a moment later (rebinding), and callers that can see the peer
re-check it with ``allowed``.
"""

from __future__ import annotations

import ipaddress
import socket

import httpx

from mlsmith.core.errors import InvalidInput

_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("168.63.129.16"),  # Azure wireserver (a global address)
    ipaddress.ip_address("192.0.0.192"),  # Oracle Cloud
}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix: the low 32 bits are an IPv4 peer

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class EgressRefused(InvalidInput):
    """The destination resolves to an address outbound connections must not reach. Its message
    names the host only, never the addresses it resolved to (no map of internal DNS)."""


def allowed(ip: IpAddress, allow_private: bool) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 spellings of an IPv4 peer are judged as that peer.
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(v4 is not None and not allowed(v4, allow_private) for v4 in embedded):
            return False
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
    if ip in _METADATA or ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return False
    if ip.is_loopback or ip.is_private or ip.is_reserved:
        return allow_private
    return ip.is_global


def check_host(host: str, port: int, allow_private: bool) -> list[IpAddress]:
    """Resolve ``host`` and return its addresses, all of them allowed, to connect to directly.

    Raises EgressRefused when any address is refused (a name that resolves to one allowed and one
    refused address is refused: which one a client picks is not ours to decide), or OSError when the
    name does not resolve (worth retrying).
    """
    host = (host or "").strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or any(c in host for c in "/@?#\\ ") or len(host) > 253:
        raise EgressRefused("a destination needs a plain host name or IP address", host=host[:253])
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise EgressRefused(f"port {port!r} is not a TCP port", port=str(port))
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IpAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses or any(not allowed(ip, allow_private) for ip in addresses):
        raise EgressRefused(
            f"{host} resolves to an address outbound connections may not reach"
            + ("" if allow_private else " (private and loopback ranges are not enabled)"),
            host=host,
        )
    return addresses


def pin(url: httpx.URL, allow_private: bool) -> tuple[httpx.URL, dict[str, str], dict]:
    """The URL to request (host replaced by a checked IP), the Host header and extensions.

    Raises EgressRefused, or OSError when the name does not resolve (worth retrying).
    """
    if url.scheme not in ("http", "https") or not url.host:
        raise EgressRefused(f"only http(s) URLs with a host are allowed, not {url.scheme!r}")
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses = check_host(url.host, port, allow_private)
    headers = {"Host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    return url.copy_with(host=str(addresses[0])), headers, extensions


def send(
    client: httpx.Client,
    method: str,
    url: str | httpx.URL,
    *,
    allow_private: bool,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """One request through the guard, its body left unread (``stream=True``): the URL is pinned to
    a checked address, and the peer actually connected is checked again before anything is read.
    ``client`` must not follow redirects nor trust proxy settings from the environment (a proxy
    would be the peer instead of the checked host). The caller closes the response."""
    if client.follow_redirects or getattr(client, "_trust_env", False):
        raise ValueError("egress clients follow no redirects and trust no environment proxies")
    pinned, host, extensions = pin(httpx.URL(url), allow_private)
    request = client.build_request(
        method, pinned, headers={**(headers or {}), **host}, content=content, extensions=extensions
    )
    response = client.send(request, stream=True)
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer is not None:
        ip = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
        if ip != ipaddress.ip_address(pinned.host) or not allowed(ip, allow_private):
            response.close()
            raise EgressRefused(f"{httpx.URL(url).host}: connected to an unexpected peer")
    return response
