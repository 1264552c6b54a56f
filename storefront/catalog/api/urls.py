"""Catalog routes, under /api/: products/ (and products/{id}/images/), categories/,
collections/, tags/; variants/ and variants/stock/ (SKU lookup and stock sync)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from storefront.catalog.api import variants, views

# Path converters (<int:pk>) rather than regexes: a non-numeric id is a 404, and the
# OpenAPI schema types ids as integers.
router = SimpleRouter(use_regex_path=False)
router.register("products", views.ProductViewSet, basename="product")
router.register("categories", views.CategoryViewSet, basename="category")
router.register("collections", views.CollectionViewSet, basename="collection")
router.register("tags", views.TagViewSet, basename="tag")

urlpatterns = router.urls
urlpatterns += [
    path("variants/", variants.VariantLookupView.as_view(), name="variant-list"),
    path("variants/stock/", variants.VariantStockView.as_view(), name="variant-stock"),
]
