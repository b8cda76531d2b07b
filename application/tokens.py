"""Signed tokens (HS256) as CONTRACT.md §2.1 describes them; minted here for development."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"


def issue_token(secret: str, sub: str, role: str = "user", ttl: int = 3600, name: str = "") -> str:
    """A token for ``sub`` with ``role``, valid ``ttl`` seconds (``ticketing token``)."""
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": sub,
        "role": role,
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
    }
    if name:
        claims["name"] = name
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
