"""Chainable product queries: `Product.objects.published().in_stock()`."""

from django.db import models


class ProductQuerySet(models.QuerySet):
    def published(self) -> "ProductQuerySet":
        """Products customers may see."""
        return self.filter(is_published=True)

    def in_stock(self) -> "ProductQuerySet":
        """Products with at least one variant whose stock quantity is above 0."""
        from storefront.catalog.models import ProductVariant

        return self.filter(
            models.Exists(
                ProductVariant.objects.filter(product=models.OuterRef("pk"), stock_quantity__gt=0)
            )
        )

    def in_category(self, category) -> "ProductQuerySet":
        """Products in `category` or any of its descendants (one indexed prefix match)."""
        return self.filter(category__path__startswith=category.path)

    def with_price(self) -> "ProductQuerySet":
        """Annotate `price`: the lowest variant price (store currency), None without variants."""
        return self.annotate(price=models.Min("variants__price"))
