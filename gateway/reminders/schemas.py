"""Bodies of the reminder rule routes. Responses are the store's ``ReminderRule``."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Recipient = Literal["patient", "doctor", "admins"]
MinutesBefore = Annotated[
    int, Meta(ge=1, le=43200, description="how long before the start the reminder goes: 1 minute to 30 days")
]


class ReminderRuleIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    recipient: Annotated[
        Recipient,
        Meta(
            description="who is reminded: the patient, the doctor (their email and mobile number),"
            " or the organisation's admins (its admin emails)"
        ),
    ]
    minutes_before: MinutesBefore
    send_email: bool = True
    send_sms: bool = False
