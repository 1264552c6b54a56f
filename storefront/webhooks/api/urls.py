"""Outgoing webhooks routes, under /api/."""

urlpatterns: list = []
