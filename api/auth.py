"""Identity: ``Authorization: Bearer <JWT>``, HS256 with ``TICKETING_JWT_SECRET`` (§2.1).

The algorithm is pinned, so a token signed otherwise (``alg: none``, another key, another
algorithm) is refused; ``sub`` and ``exp`` are required; ``role`` defaults to ``user``.
"""

from __future__ import annotations

import jwt
from flask import current_app, g, request

from application.tokens import ALGORITHM
from domain.actors import Actor, Role

CALLER_ROLES = frozenset({Role.USER, Role.HANDLER, Role.ADMIN, Role.AUDITOR})


class Unauthenticated(Exception):
    """Missing, malformed, badly signed or expired token (401)."""


def actor_from_token(token: str, secret: str) -> Actor:
    """The caller a token names, or :class:`Unauthenticated`."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired") from None
    except jwt.PyJWTError as error:
        raise Unauthenticated(f"invalid token: {error}") from None
    sub, role, name = claims.get("sub"), claims.get("role", "user"), claims.get("name", "")
    if not isinstance(sub, str) or not sub.strip():
        raise Unauthenticated("the token's sub must be a non-empty string")
    if role not in CALLER_ROLES:
        raise Unauthenticated("the token's role must be user, handler, admin or auditor")
    return Actor(account_id=sub, role=Role(role), name=name if isinstance(name, str) else "")


def current_actor() -> Actor:
    """The authenticated caller of this request (401 if none)."""
    actor: Actor | None = g.get("actor")
    if actor is not None:
        return actor
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send Authorization: Bearer <token>")
    actor = actor_from_token(token.strip(), current_app.config["JWT_SECRET"])
    g.actor = actor
    return actor
