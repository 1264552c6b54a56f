"""Checkout outcomes for Prometheus (storefront/core/metrics.py exposes them at /metrics).

storefront_checkouts_total{outcome}: "placed" (an order was created; an idempotent replay is
not counted again), "out_of_stock" (checkout refused, 409 out_of_stock) and "declined" (a
card payment of an order refused by the provider, 402 payment_declined).
"""

from prometheus_client import Counter

OUTCOMES = ("placed", "out_of_stock", "declined")

CHECKOUTS = Counter("storefront_checkouts", "Checkout outcomes.", ["outcome"])
for _outcome in OUTCOMES:  # Every outcome is exposed, at 0 until it happens.
    CHECKOUTS.labels(_outcome)


def count_checkout(outcome: str) -> None:
    """Count one checkout `outcome`, one of OUTCOMES."""
    CHECKOUTS.labels(outcome).inc()
