"""The one place the smoke tool speaks HTTP: the standard library behind a replaceable
transport (tests pass a fake workspace API instead).

No redirects are followed (an `Authorization` header must never travel to another host), and
tokens only go to `https://` URLs, or to `http://` on the loopback interface (local fakes).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest response read (runs/get-output returns at most the last 5 MB of a task's logs)."""


class TransportError(Exception):
    """No HTTP response at all (DNS, connection refused, TLS, timeout)."""


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON; `ValueError` when it is not JSON."""
        return json.loads(self.body.decode("utf-8") or "null")


Transport = Callable[[Request], Response]
"""Sends one request and returns the response, whatever its status; raises `TransportError`
when there is none."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        return None  # the 3xx response is returned as it is


def urllib_transport(timeout_s: float = 60.0) -> Transport:
    """A transport over `urllib` with a per-request timeout and no redirects."""
    opener = urllib.request.build_opener(_NoRedirect())

    def send(request: Request) -> Response:
        req = urllib.request.Request(
            request.url, data=request.body, method=request.method, headers=dict(request.headers)
        )
        try:
            with opener.open(req, timeout=timeout_s) as resp:
                return Response(resp.status, resp.read(MAX_BODY_BYTES), dict(resp.headers))
        except urllib.error.HTTPError as exc:
            body = exc.read(MAX_BODY_BYTES) if exc.fp is not None else b""
            return Response(exc.code, body, dict(exc.headers or {}))
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise TransportError(f"{request.method} {_where(request.url)}: {reason}") from None

    return send


def _where(url: str) -> str:
    """scheme://host/path of a URL, without its query (which may carry parameters)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(value: str, what: str) -> str:
    """`value` as a base URL (scheme://host[:port], no path) that may receive a token;
    `ValueError` naming `what` otherwise."""
    text = value.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urllib.parse.urlsplit(text)
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ValueError(f"{what} must be a bare URL such as https://host (got {value!r:.80})")
    check_token_url(text, what)
    return f"{parts.scheme}://{parts.netloc}"


def check_token_url(value: str, what: str) -> str:
    """`value` if a token may be sent to it: https://, or http:// on the loopback interface,
    with a host and no user information; `ValueError` naming `what` otherwise."""
    parts = urllib.parse.urlsplit(value)
    if parts.username or parts.password or not parts.hostname:
        raise ValueError(f"{what} must be a URL with a host and no user name (got {value!r:.80})")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname)):
        return value
    raise ValueError(f"{what} must use https:// (got {value!r:.80}): a token is sent to it")
