from __future__ import annotations

from advanced_alchemy.base import DefaultBase

#: Base for tables whose primary key is not a UUID (e.g. keyed by a Stripe id).
Base = DefaultBase
