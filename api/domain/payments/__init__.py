"""Buying credit packs: Stripe Checkout, its webhook, and the demo checkout."""
