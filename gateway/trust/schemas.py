"""Bodies of the trust routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from gateway.clinic.schemas import AdminEmails, LowRatingThreshold

Origin = Annotated[str, Meta(pattern=r"^https?://[a-z0-9.\-]+(:\d{1,5})?$", max_length=255)]


class ApiKeyOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    organisation_id: uuid.UUID
    key: str
    created_at: datetime
    expires_at: datetime | None = None


class CredentialOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    doctor_id: uuid.UUID
    token: str
    created_at: datetime
    expires_at: datetime | None = None


class KeyIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Optional settings of a new admin key or doctor credential."""

    expires_at: datetime | None = None
    """When it stops working by itself (an instant with an offset); default: never."""


class KeyInfo(msgspec.Struct, frozen=True, kw_only=True):
    """An admin key or doctor credential as listed: never its value."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    doctor_id: uuid.UUID | None = None
    active: bool
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class SecretOut(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    organisation_id: uuid.UUID
    secret: str
    algorithm: str = "HS256"
    created_at: datetime


class SecretInfo(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    organisation_id: uuid.UUID
    active: bool
    created_at: datetime
    revoked_at: datetime | None


class SessionIn(msgspec.Struct, forbid_unknown_fields=True):
    organisation_slug: Annotated[str, Meta(min_length=1, max_length=63)]


class SessionOut(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    expires_at: datetime
    organisation_id: uuid.UUID


PaymentPageUrl = Annotated[str, Meta(min_length=1, max_length=2000)]
"""An absolute https address (http only to this machine, for development); checked by the service."""


class OrganisationPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    allowed_origins: Annotated[list[Origin], Meta(max_length=50)] | UnsetType = UNSET
    admin_emails: AdminEmails | UnsetType = UNSET
    low_rating_threshold: LowRatingThreshold | UnsetType = UNSET
    payment_page_url: PaymentPageUrl | UnsetType | None = UNSET
    """The booking page's payment hook for this organisation; ``null`` falls back to the deployment's."""
