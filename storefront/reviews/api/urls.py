"""Product reviews and ratings routes, under /api/."""

urlpatterns: list = []
