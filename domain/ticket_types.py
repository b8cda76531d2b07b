"""The eight ticket types and the extra rule each one has at submission."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TicketType(StrEnum):
    """Codes of the ticket types (CONTRACT.md §1)."""

    UNBIND_MFA = "unbind_mfa"
    CHANGE_OWNER = "change_owner"
    PURCHASE = "purchase"
    DOCUMENTATION = "documentation"
    FEATURE_REQUEST = "feature_request"
    BUG = "bug"
    USAGE = "usage"
    OTHER = "other"


@dataclass(frozen=True)
class TicketTypeInfo:
    """What a type is called and what it needs at submission."""

    code: TicketType
    name: str
    requires_verified_email: bool = False
    requires_attachment: bool = False


TICKET_TYPES: tuple[TicketTypeInfo, ...] = (
    TicketTypeInfo(TicketType.UNBIND_MFA, "Unbind MFA", requires_verified_email=True),
    TicketTypeInfo(TicketType.CHANGE_OWNER, "Change Owner Account", requires_attachment=True),
    TicketTypeInfo(TicketType.PURCHASE, "Purchase Inquiry"),
    TicketTypeInfo(TicketType.DOCUMENTATION, "Documentation Help"),
    TicketTypeInfo(TicketType.FEATURE_REQUEST, "Feature Request"),
    TicketTypeInfo(TicketType.BUG, "Bug Report"),
    TicketTypeInfo(TicketType.USAGE, "Usage Issues"),
    TicketTypeInfo(TicketType.OTHER, "Others"),
)

TYPE_INFO: dict[str, TicketTypeInfo] = {str(info.code): info for info in TICKET_TYPES}


def type_name(code: str) -> str:
    """A type as people read it (the help centre's name), or the code if unknown."""
    info = TYPE_INFO.get(code)
    return info.name if info is not None else code
