"""Access tokens for the workspace API, with nothing stored and no secret anywhere.

`GitHubOidcAzure` is what the smoke job uses: the job's GitHub OIDC token (audience
`api://AzureADTokenExchange`) is the client assertion of a Microsoft Entra ID client-credentials
request for the smoke identity (a user-assigned managed identity federated to the GitHub
environment `<env>-smoke`), for the AzureDatabricks resource. It is the flow of the Databricks
SDK's `github-oidc-azure` strategy (databricks-sdk-go v0.93.0, config/auth_azure_github_oidc.go:
the v1 token endpoint, `resource` = 2ff814a6-3304-4ab8-85cb-cd0e6f879c1d, `expires_on`), with
one difference: GitHub's OIDC tokens expire within minutes, so every Entra ID token is requested
with a freshly fetched OIDC token instead of the one fetched at start (the SDK keeps the first
one; tools/run_job.py works around that by re-creating its client).

`StaticToken` reads a token from the environment (`DATABRICKS_TOKEN`), for a run by hand.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Protocol

from tools.smoke.transport import Request, Transport, TransportError

AZURE_DATABRICKS_APP_ID = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"
"""The AzureDatabricks first-party application: the resource of every Entra ID token for a
workspace (the same ID in every tenant)."""
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
"""The audience Entra ID expects of a federated credential's assertion."""
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
REFRESH_MARGIN_S = 300.0
"""Fetch a new access token this long before the current one expires."""


class AuthError(Exception):
    """No access token could be obtained (the message never contains a token)."""


class TokenSource(Protocol):
    def token(self, *, force: bool = False) -> str:
        """A valid access token; `force` fetches a new one (after a 401)."""
        ...


class StaticToken:
    """A token given by the caller (never refreshed)."""

    def __init__(self, value: str) -> None:
        if not value.strip():
            raise AuthError("the token is empty")
        self._value = value.strip()

    def token(self, *, force: bool = False) -> str:
        return self._value


class GitHubOidcAzure:
    """Entra ID access tokens for a federated identity, each from a fresh GitHub OIDC token."""

    def __init__(
        self,
        *,
        transport: Transport,
        request_url: str,
        request_token: str,
        client_id: str,
        tenant_id: str,
        authority: str = DEFAULT_AUTHORITY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._transport = transport
        self._request_url = request_url
        self._request_token = request_token
        self._client_id = client_id
        self._tenant_id = tenant_id
        self._authority = authority.rstrip("/")
        self._clock = clock
        self._value: str | None = None
        self._expires_at = 0.0

    def token(self, *, force: bool = False) -> str:
        if force or self._value is None or self._clock() >= self._expires_at - REFRESH_MARGIN_S:
            self._value, self._expires_at = self._exchange(self._github_id_token())
        return self._value

    def _github_id_token(self) -> str:
        sep = "&" if "?" in self._request_url else "?"
        audience = urllib.parse.quote(TOKEN_EXCHANGE_AUDIENCE, safe="")
        request = Request(
            "GET",
            f"{self._request_url}{sep}audience={audience}",
            {"Authorization": f"Bearer {self._request_token}", "Accept": "application/json"},
        )
        body = self._send(request, "GitHub OIDC token request")
        value = body.get("value") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise AuthError("GitHub returned no OIDC token (does the job have id-token: write?)")
        return value

    def _exchange(self, assertion: str) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "resource": AZURE_DATABRICKS_APP_ID,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion,
        }
        request = Request(
            "POST",
            f"{self._authority}/{urllib.parse.quote(self._tenant_id, safe='')}/oauth2/token",
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            urllib.parse.urlencode(form).encode(),
        )
        body = self._send(request, "Microsoft Entra ID token request")
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise AuthError("Microsoft Entra ID returned no access token")
        return value, self._expiry(body)

    def _expiry(self, body: dict) -> float:
        """When the token expires on this machine's clock: `expires_in` (relative, so a skewed
        runner clock does not matter), else the absolute `expires_on`."""
        for key, base in (("expires_in", self._clock()), ("expires_on", 0.0)):
            try:
                return base + float(body[key])
            except (KeyError, TypeError, ValueError):
                continue
        return self._clock() + 600.0  # unknown lifetime: refresh soon

    def _send(self, request: Request, what: str) -> object:
        try:
            response = self._transport(request)
        except TransportError as exc:
            raise AuthError(f"{what} failed: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status != 200:
            raise AuthError(f"{what} failed: HTTP {response.status}{_error_text(body)}")
        return body


def _error_text(body: object) -> str:
    """Entra ID's and GitHub's error code and first line (`AADSTS700213: ...`), bounded."""
    if not isinstance(body, dict):
        return ""
    code = body.get("error") or body.get("message") or ""
    description = str(body.get("error_description") or "").splitlines()
    detail = f"{code}: {description[0]}" if description else str(code)
    return f" ({json.dumps(detail)[1:-1][:300]})" if detail else ""
