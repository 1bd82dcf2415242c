-- A replay asked for while an attempt of the delivery is under way (its lease held): the attempt's
-- outcome is recorded as usual, then the delivery is made due again, so the replay goes after it
-- instead of being overwritten by it (gateway/notify/webhooks.py, WebhookChannel.settled).
ALTER TABLE deliveries ADD COLUMN replay_requested boolean NOT NULL DEFAULT false;
