"""Webhook subscriptions per organisation: create, list, edit, delete, deliveries and replay.

Delivery itself is the outbox worker's channel, ``gateway.notify.webhooks``; this package
imports nothing from ``gateway.notify``.
"""
