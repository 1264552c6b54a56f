"""Wishlists routes, under /api/."""

urlpatterns: list = []
