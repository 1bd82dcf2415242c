"""Telling people: the outbox worker and its channels (email, SMS, webhooks), and the signed
manage links.

``gateway.notify.assembly.build_worker`` assembles one process's worker from the settings. This
package's ``__init__`` imports nothing, so that ``gateway.auth`` can use ``links`` without pulling in
the worker (which needs ``gateway.auth`` itself). The domains it delivers for (``gateway.reminders``,
``gateway.reviews``, ``gateway.webhooks``) never import it (``tests/unit/test_layers.py``).
"""
