"""E-mail verification (CONTRACT.md §2.4): ask for a code to be sent to an address."""

from __future__ import annotations

from typing import Any

from api.auth import current_actor
from api.http import ticketing
from api.parsing import Blueprint
from api.schemas import EmailVerificationRequestSchema, EmailVerificationSchema

blp = Blueprint("verifications", __name__, url_prefix="/api/v1", description="E-mail verification")


@blp.route("/email-verifications", methods=["POST"])
@blp.arguments(EmailVerificationRequestSchema)
@blp.response(202, EmailVerificationSchema)
def request_verification(body: dict[str, Any]) -> dict[str, Any]:
    """Send a 6-digit code (valid 15 minutes) to the address; use it to submit Unbind MFA.

    At most 5 requests per account in 10 minutes (then 429 with ``Retry-After``).
    """
    verification = ticketing().verifications.request(current_actor(), body["email"])
    return {"verification_id": str(verification.id), "expires_at": verification.expires_at}
