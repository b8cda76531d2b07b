"""Identity: ``Authorization: Bearer <JWT>``, HS256 with ``TICKETING_JWT_SECRET`` (§2.1).

The algorithm is pinned, so a token signed otherwise (``alg: none``, another key, another
algorithm) is refused; ``sub`` and ``exp`` are required; ``role`` defaults to ``user``. A claim
of another type than the contract's (§2.1) refuses the token: ``sub`` an account id (1 to 128
characters, no white space), ``role`` one of the four, ``name`` text, ``exp``, ``nbf`` and
``iat`` numbers (PyJWT alone would take ``"exp": "9999999999"``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt
from flask import current_app, g, request

from application.tokens import ALGORITHM
from domain.actors import Actor, Role
from domain.content import identifier_fault, text_fault

CALLER_ROLES = frozenset({Role.USER, Role.HANDLER, Role.ADMIN, Role.AUDITOR})
NAME_MAX = 200
MAX_LIFETIME = 24 * 3600  # seconds from iat (or now) to exp (CONTRACT.md §2.0)


class Unauthenticated(Exception):
    """Missing, malformed, badly signed or expired token (401)."""


TOKENS_KEPT = 10_000  # verified tokens a process remembers


@dataclass(frozen=True)
class _Verified:
    """A token already verified: its caller, and the times between which it is valid."""

    actor: Actor
    valid_from: float  # nbf and iat: not before either
    expires: float  # exp: valid while now < exp


_verified: dict[tuple[str, str], _Verified] = {}


def actor_from_token(token: str, secret: str) -> Actor:
    """The caller a token names, or :class:`Unauthenticated`. A token verified before is
    not verified again while it is valid (its signature and claims cannot change; its times
    are checked on every use, as PyJWT checks them): a browser or a client sends the same
    token on every request, and its signature cost a fifth of a list request's Python."""
    now = time.time()
    known = _verified.get((secret, token))
    if known is not None and known.valid_from <= now < known.expires:
        return known.actor
    actor, claims = _verify(token, secret)
    if len(_verified) >= TOKENS_KEPT:
        _verified.clear()
    _verified[(secret, token)] = _Verified(
        actor,
        max(int(claims.get("nbf", 0)), int(claims.get("iat", 0))),
        int(claims["exp"]),
    )
    return actor


def token_expires(token: str, secret: str) -> float:
    """When a valid token expires (epoch seconds), or :class:`Unauthenticated`."""
    actor_from_token(token, secret)
    known = _verified.get((secret, token))
    if known is None:  # forgotten in between: read it again
        return float(_verify(token, secret)[1]["exp"])
    return known.expires


def _verify(token: str, secret: str) -> tuple[Actor, dict[str, Any]]:
    """The caller a token names and its claims, verified, or :class:`Unauthenticated`."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired") from None
    except jwt.PyJWTError as error:
        raise Unauthenticated(f"invalid token: {error}") from None
    sub, role, name = claims.get("sub"), claims.get("role", "user"), claims.get("name", "")
    fault = identifier_fault(sub)
    if fault is not None or not isinstance(sub, str):
        raise Unauthenticated(f"the token's sub is not an account id: it {fault}")
    if not isinstance(role, str) or role not in CALLER_ROLES:
        raise Unauthenticated("the token's role must be user, handler, admin or auditor")
    if not isinstance(name, str) or text_fault(name) is not None or len(name) > NAME_MAX:
        raise Unauthenticated(f"the token's name must be text of at most {NAME_MAX} characters")
    for time_claim in ("exp", "nbf", "iat"):
        value = claims.get(time_claim, 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Unauthenticated(f"the token's {time_claim} must be a NumericDate number")
    issued = claims.get("iat", time.time())
    if claims["exp"] - issued > MAX_LIFETIME:
        raise Unauthenticated("the token lives too long: exp at most 24 h after iat (or now)")
    return Actor(account_id=sub, role=Role(role), name=name), claims


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
