"""Telling people: the outbox worker and its channels (email, SMS, webhooks), reminders and reviews.

``build_worker`` assembles one process's worker from the settings: a channel takes part only when
it is configured (no ``GATEWAY_SMTP_URL``: no email deliveries are made).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.notify.email import EmailChannel
from gateway.notify.sms import SmsChannel
from gateway.notify.worker import Channel, Periodic, Worker
from store.pool import connect_one

if TYPE_CHECKING:
    from gateway.settings import Settings
    from store.types import Pool


def channels(settings: Settings, db: Pool) -> list[Channel]:
    """The channels this process delivers through (``db``: what they read names and addresses from)."""
    found: list[Channel] = []
    found += [EmailChannel.from_settings(settings, db)] if settings.notify.smtp_url else []
    found += [SmsChannel.from_settings(settings, db)] if settings.notify.sms_url else []
    return found


def periodic(settings: Settings) -> list[Periodic]:
    """The jobs run every ``reminder_seconds``."""
    found: list[Periodic] = []
    return found


def build_worker(settings: Settings, db: Pool) -> Worker:
    notify = settings.notify

    return Worker(
        db,
        channels(settings, db),
        listen=lambda: connect_one(settings.database),
        periodic=periodic(settings),
        poll_seconds=notify.poll_seconds,
        tick_seconds=notify.reminder_seconds,
        lease_seconds=notify.lease_seconds,
    )
