"""Catalog routes, under /api/: products/ (and products/{id}/images/, products/facets/),
categories/, collections/, tags/; variants/ and variants/stock/ (SKU lookup and stock sync),
variants/{id}/notify-me/ (back-in-stock alerts);
catalog/export/ and catalog/imports/ (staff: the catalog file out and in)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from storefront.catalog.api import exports, facets, imports, variants, views

# Path converters (<int:pk>) rather than regexes: a non-numeric id is a 404, and the
# OpenAPI schema types ids as integers.
router = SimpleRouter(use_regex_path=False)
router.register("products", views.ProductViewSet, basename="product")
router.register("categories", views.CategoryViewSet, basename="category")
router.register("collections", views.CollectionViewSet, basename="collection")
router.register("tags", views.TagViewSet, basename="tag")

# products/facets/ is no product: the router's product routes take integer ids only.
urlpatterns = [
    *router.urls,
    path("products/facets/", facets.ProductFacetsView.as_view(), name="product-facets"),
    path("variants/", variants.VariantLookupView.as_view(), name="variant-list"),
    path("variants/stock/", variants.VariantStockView.as_view(), name="variant-stock"),
    path(
        "variants/<int:pk>/notify-me/",
        variants.VariantNotifyMeView.as_view(),
        name="variant-notify-me",
    ),
    path("catalog/export/", exports.CatalogExportView.as_view(), name="catalog-export"),
    path("catalog/imports/", imports.CatalogImportListView.as_view(), name="catalog-import-list"),
    path(
        "catalog/imports/<int:pk>/",
        imports.CatalogImportDetailView.as_view(),
        name="catalog-import-detail",
    ),
    path(
        "catalog/imports/<int:pk>/apply/",
        imports.CatalogImportApplyView.as_view(),
        name="catalog-import-apply",
    ),
]
