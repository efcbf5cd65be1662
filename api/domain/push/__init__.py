"""Web Push: VAPID keys, browsers' subscriptions and the notices sent to them."""
