"""The floors: a DRF list and detail over FlatProduct, and a constant JSON answer."""

from django.http import JsonResponse
from rest_framework import generics, serializers

from bench.floor_site.models import FlatProduct


class FlatProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = FlatProduct
        fields = [
            "id", "slug", "name", "description", "category_id", "category_name", "price",
            "currency", "in_stock", "created_at", "updated_at",
        ]  # fmt: skip


class FlatProductQuerysetMixin:
    serializer_class = FlatProductSerializer

    def get_queryset(self):
        # Storefront's list order: newest first (Product.Meta.ordering).
        return FlatProduct.objects.filter(is_published=True).order_by("-created_at", "-id")


class FlatProductList(FlatProductQuerysetMixin, generics.ListAPIView):
    """GET /products/: published products, newest first, paginated like Storefront (24)."""


class FlatProductDetail(FlatProductQuerysetMixin, generics.RetrieveAPIView):
    """GET /products/{id}/."""


def constant(request):
    """GET /constant/: the server floor, no database."""
    return JsonResponse({"status": "ok", "service": "bench"})
