"""Telling people: the outbox worker and its channels (email, SMS, webhooks), reminders, reviews
and the signed manage links.

``gateway.notify.assembly.build_worker`` assembles one process's worker from the settings. This
package's ``__init__`` imports nothing, so that ``gateway.auth`` can use ``links`` without pulling in
the worker (which needs ``gateway.auth`` itself).
"""
