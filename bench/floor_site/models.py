"""One flat product table, loaded by bench/loaders.py (load_floor); Django does not manage it."""

from django.db import models


class FlatProduct(models.Model):
    """A product with its lowest price and stock flag denormalized: one row, no joins."""

    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, unique=True)
    description = models.TextField()
    category_id = models.BigIntegerField()
    category_name = models.CharField(max_length=255)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    in_stock = models.BooleanField()
    is_published = models.BooleanField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "floor_product"

    def __str__(self) -> str:
        return self.name
