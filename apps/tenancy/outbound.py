"""Outbound HTTP to URLs an organisation configured (webhooks, chat): public targets only.

One statement of the rule, for every app: ``validate_outbound_url`` when a URL is saved
(model field validator, forms, admin) and ``post_json`` at send time, which resolves the
host, refuses any address that is not public (loopback, private, link-local, multicast,
reserved, unspecified, IPv4-mapped IPv6 of those, and the decimal / octal / hex spellings
of them), then connects to the very address it checked (no second DNS lookup an attacker
could answer differently) and never follows a redirect.

``settings.OUTBOUND_ALLOWED_NETWORKS`` (CIDRs, empty by default) lets a test or a private
deployment reach named networks on purpose; nothing else bypasses the check.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_TIMEOUT_SECONDS = 5
# Hosts spelled as numbers (2130706433, 0177.0.0.1, 0x7f.1): the C resolver reads them as
# IPv4 addresses, so they are checked as addresses, not as names.
NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$", re.IGNORECASE)


class OutboundRefused(Exception):
    """The URL or the address it resolves to may not be contacted; ``str()`` says why."""


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(cidr, strict=False)
        for cidr in getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", ())
    ]


def address_refusal(address: Address) -> str:
    """Why this address may not be contacted, or "" when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _allowed_networks()):
        return ""
    for attribute, label in (
        ("is_unspecified", "an unspecified"),
        ("is_loopback", "a loopback"),
        ("is_link_local", "a link-local"),
        ("is_multicast", "a multicast"),
        ("is_private", "a private"),
        ("is_reserved", "a reserved"),
    ):
        if getattr(address, attribute):
            return f"{address} is {label} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return ""


def _literal_address(host: str) -> Address | None:
    """The address a host names literally (incl. legacy numeric IPv4 forms), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def _parse(url: str) -> Target:
    """Scheme, host, port and path of a URL an organisation may use, or OutboundRefused."""
    if not isinstance(url, str) or not url or len(url) > 2000 or any(c in url for c in "\0\r\n"):
        raise OutboundRefused("Enter a valid http(s) URL.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as invalid:
        raise OutboundRefused("Enter a valid http(s) URL.") from invalid
    allowed = ("https",) if getattr(settings, "PRODUCTION", False) else ("http", "https")
    if parts.scheme not in allowed:
        raise OutboundRefused(
            "Use an https:// URL." if parts.scheme == "http" else "Use an http(s) URL."
        )
    if parts.username or parts.password:
        raise OutboundRefused("A URL with a user name or password is not accepted.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise OutboundRefused("The URL has no host.")
    if host == "localhost" or host.endswith(".localhost"):
        raise OutboundRefused(f"{host} is a loopback host; use a public address.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(
        scheme=parts.scheme,
        host=host,
        port=port or (443 if parts.scheme == "https" else 80),
        path=path,
    )


def resolve_public(url: str) -> tuple[Target, Address]:
    """Parse and resolve the URL; every address it resolves to must be public.

    Returns the address to connect to. Refusing when *any* answer is not public stops a
    name that mixes a public and a private answer.
    """
    target = _parse(url)
    literal = _literal_address(target.host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as failure:
            raise OutboundRefused(f"{target.host} could not be resolved.") from failure
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        if not addresses:
            raise OutboundRefused(f"{target.host} could not be resolved.")
    for address in addresses:
        refusal = address_refusal(address)
        if refusal:
            named = "" if literal is not None else f"{target.host} resolves to "
            raise OutboundRefused(f"Refused: {named}{refusal}.")
    return target, addresses[0]


def validate_outbound_url(url: str) -> None:
    """Field validator: the URL must be http(s) (https in production) to a public host.

    Literal addresses and names are checked; a name that does not resolve now is accepted
    here and checked again, after resolution, each time something is sent.
    """
    try:
        target = _parse(url)
        literal = _literal_address(target.host)
        if literal is not None:
            refusal = address_refusal(literal)
            if refusal:
                raise OutboundRefused(f"Refused: {refusal}.")
        else:
            try:
                resolve_public(url)
            except OutboundRefused as refused:
                if "could not be resolved" not in str(refused):
                    raise
    except OutboundRefused as refused:
        raise ValidationError(str(refused), code="outbound_url") from refused


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address while the Host header keeps the name."""

    def __init__(self, host: str, port: int, address: Address, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = str(address)

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address; the certificate is verified for the host name."""

    def __init__(self, host: str, port: int, address: Address, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = str(address)

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class OutboundResponse:
    status_code: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def redirect(self) -> bool:
        return 300 <= self.status_code < 400


def post_json(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> OutboundResponse:
    """POST ``body`` to a public URL; the answer's status only (its body is never read).

    Raises ``OutboundRefused`` for a URL or address that may not be contacted and
    ``OSError`` when the connection fails. A 3xx is returned as is: redirects are not
    followed, so a public URL cannot bounce the request to an internal one.
    """
    target, address = resolve_public(url)
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target.host, target.port, address, timeout)
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={"Content-Type": "application/json", **headers},
        )
        response = connection.getresponse()
        return OutboundResponse(status_code=response.status)
    except http.client.HTTPException as failure:
        raise OSError(f"Bad HTTP answer: {type(failure).__name__}") from failure
    finally:
        connection.close()
