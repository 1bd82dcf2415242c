"""One process's worker, assembled from the settings: which channels deliver, which jobs run.

A channel takes part only when it is configured (no ``GATEWAY_SMTP_URL``: no email deliveries are
made); webhooks always do (the organisations' subscriptions decide).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.notify.email import EmailChannel
from gateway.notify.sms import SmsChannel
from gateway.notify.webhooks import webhook_channel
from gateway.notify.worker import Channel, Periodic, Worker
from gateway.reminders.service import claim_due_reminders
from store.pool import connect_one

if TYPE_CHECKING:
    from gateway.settings import Settings
    from store.types import Pool


def channels(settings: Settings, db: Pool) -> list[Channel]:
    """The channels this process delivers through."""
    found: list[Channel] = []
    found += [EmailChannel.from_settings(settings, db)] if settings.notify.smtp_url else []
    found += [SmsChannel.from_settings(settings, db)] if settings.notify.sms_url else []
    found.append(webhook_channel(settings, db))  # always: the organisations' subscriptions decide
    return found


def periodic(settings: Settings) -> list[Periodic]:
    """The jobs run every ``reminder_seconds``."""
    found: list[Periodic] = []
    found.append(claim_due_reminders)
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
