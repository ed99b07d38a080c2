"""Compact HS256 JWS built on the standard library, so clients can decode `exp` like a real Hub JWT."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any


class TokenError(Exception):
    """Why a bearer token was refused; the message becomes the 401 `detail`."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_HEADER = _b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())


def sign(claims: dict[str, Any], key: bytes) -> str:
    payload = _b64encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{_HEADER}.{payload}".encode("ascii")
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return f"{_HEADER}.{payload}.{_b64encode(signature)}"


def verify(token: str, key: bytes, now: float) -> dict[str, Any]:
    """Return the claims of a well-formed, correctly signed, unexpired token."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed token")
    try:
        header = json.loads(_b64decode(parts[0]))
        claims = json.loads(_b64decode(parts[1]))
        signature = _b64decode(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise TokenError("malformed token") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise TokenError("malformed token")
    expected = hmac.new(key, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise TokenError("invalid token signature")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or now >= exp:
        raise TokenError("token expired")
    return claims
