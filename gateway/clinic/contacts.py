"""Contact details staff give the gateway: a doctor's email and mobile number, admins' addresses.

Checked when they are set, so that a notification never starts from an address that cannot work:
a mobile number must be E.164 (what SMS providers take: ``+`` country code and number, 8 to 15
digits), an email address must look like one a mail server accepts (the HTML form rule).
"""

from __future__ import annotations

import re

from gateway.errors import ValidationFailed

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
"""An E.164 number: ``+``, a country code not starting with 0, 7 to 15 digits in all."""

# What people type between the digits of a number: kept out of what is stored.
_SEPARATORS = re.compile(r"[\s().-]")

# The WHATWG rule for <input type="email">: what browsers accept, and what mail servers take.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
EMAIL_MAX = 254


class InvalidPhone(ValidationFailed):
    code = "invalid_phone"


class InvalidEmail(ValidationFailed):
    code = "invalid_email"


def is_e164(number: str | None) -> bool:
    """Whether ``number`` is an E.164 number exactly as given."""
    return number is not None and E164.fullmatch(number) is not None


def phone(raw: str, field: str) -> str:
    """The E.164 form of ``raw`` (spaces, dots, dashes and brackets between digits dropped).

    Raises:
        InvalidPhone: not an E.164 number, e.g. a national number without ``+`` and country code.
    """
    number = _SEPARATORS.sub("", raw)
    if not is_e164(number):
        raise InvalidPhone(
            f"{field}: {raw[:40]!r} is not an E.164 number: '+', the country code and the number, e.g. +4915123456789",
            field=field,
        )
    return number


def email(raw: str, field: str) -> str:
    """``raw`` without surrounding spaces, if it is an email address.

    Raises:
        InvalidEmail: not an address like ``name@example.org`` (or longer than 254 characters).
    """
    address = raw.strip()
    if len(address) > EMAIL_MAX or not _EMAIL.fullmatch(address):
        raise InvalidEmail(f"{field}: {raw[:60]!r} is not an email address like name@example.org", field=field)
    return address


def emails(raw: list[str], field: str) -> list[str]:
    """Each address checked, repeats (ignoring case) dropped, in the order given."""
    seen: set[str] = set()
    found = []
    for i, item in enumerate(raw):
        address = email(item, f"{field}[{i}]")
        if address.casefold() not in seen:
            seen.add(address.casefold())
            found.append(address)
    return found
