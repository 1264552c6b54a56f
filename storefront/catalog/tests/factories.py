from decimal import Decimal

import factory

from storefront.catalog.models import (
    Category,
    Collection,
    Product,
    ProductImage,
    ProductVariant,
    Tag,
)


class CategoryFactory(factory.django.DjangoModelFactory):
    """A root category, or a child of `parent=` (treebeard nodes are created through the tree)."""

    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")

    @classmethod
    def _create(cls, model_class, *args, parent=None, **kwargs):
        if parent is not None:
            return model_class.objects.add_child(parent, kwargs)
        return model_class.objects.add_root(kwargs)


class CollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Collection

    name = factory.Sequence(lambda n: f"Collection {n}")
    slug = factory.Sequence(lambda n: f"collection-{n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"Tag {n}")
    slug = factory.Sequence(lambda n: f"tag-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    """A published product; it has no variant unless you add one (see VariantFactory)."""

    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description = factory.Faker("sentence")
    category = factory.SubFactory(CategoryFactory)
    is_published = True


class VariantFactory(factory.django.DjangoModelFactory):
    """A variant (SKU) in stock: 10 units at 19.99 in the store currency."""

    class Meta:
        model = ProductVariant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    name = factory.Sequence(lambda n: f"Variant {n}")
    price = Decimal("19.99")
    stock_quantity = 10
    attributes = factory.LazyFunction(dict)


class ProductImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    image = factory.django.ImageField(filename="photo.png", format="PNG", width=8, height=8)
    alt = "A photo"


class StockedProductFactory(ProductFactory):
    """A published product with one variant in stock (19.99 in the store currency, 10 units)."""

    class Meta:
        model = Product
        skip_postgeneration_save = True

    variant = factory.RelatedFactory(VariantFactory, factory_related_name="product")


def product_with(*stock: int, prices: tuple[str, ...] = (), **fields) -> Product:
    """A published product with one variant per item of `stock` (units), priced `prices`
    (19.99 for any not given), in a root category of its own unless `category=` says; its
    description empty (ProductFactory's is random words, which a search could match)."""
    product = ProductFactory(description="", **fields)
    for index, units in enumerate(stock):
        price = prices[index] if index < len(prices) else "19.99"
        VariantFactory(product=product, stock_quantity=units, price=Decimal(price))
    return product
