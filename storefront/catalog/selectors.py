"""Catalog reads the API depends on.

Product list and detail cost a fixed number of queries whatever the page size: the list its
count (the bounded count, or for the unfiltered list the count the database keeps:
visible_product_count) and the page's ids (catalog/api/pagination.py), then one statement for the
products' JSON (catalog/documents.py); the detail that statement alone.
"""

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import Coalesce

from storefront.catalog.exceptions import CategoryNotFound, ProductNotFound
from storefront.catalog.models import Category, Product, ProductCount, ProductVariant
from storefront.catalog.querysets import ProductQuerySet, tier_percentage
from storefront.pricing import quotes


def can_see_unpublished(user) -> bool:
    """Whether `user` (possibly anonymous) sees unpublished products: active staff only."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def visible_products(*, user) -> ProductQuerySet:
    """Products `user` may see, in the default order (newest first): published ones for
    customers and anonymous visitors, all for staff. The API shows them through
    catalog.documents.product_documents."""
    return Product.objects.all() if can_see_unpublished(user) else Product.objects.published()


def variants_by_sku(*, user, skus: list[str]) -> list[ProductVariant]:
    """The variants whose SKU is in `skus` (matched exactly, case-sensitive), in the order of
    `skus`; a SKU that matches none is left out, one listed twice appears twice. Staff see
    every variant, customers and anonymous visitors only purchasable ones (those of published
    products, VariantQuerySet.purchasable). Each has `viewer_price`: its price for `user`
    (with_viewer_prices).

    One query, whatever the number of SKUs: the tier's percentage is read in it.
    """
    variants = ProductVariant.objects.all()
    if not can_see_unpublished(user):
        variants = variants.purchasable()
    membership = quotes.membership_of(user)
    if membership is not None:
        variants = variants.annotate(tier_percentage=tier_percentage(membership))
    rows = list(variants.filter(sku__in=skus))
    with_viewer_prices(rows, rows[0].tier_percentage if rows and membership else Decimal("0"))
    found = {variant.sku: variant for variant in rows}
    return [found[sku] for sku in skus if sku in found]


def with_viewer_prices(variants: Iterable[ProductVariant], percentage: Decimal) -> None:
    """Set each variant's `viewer_price`: its price (the list price) for a viewer whose tier
    takes `percentage` off (pricing.quotes.member_price; 0: the list price)."""
    for variant in variants:
        variant.viewer_price = quotes.member_price(variant.price, percentage)


def visible_product_count(*, user) -> int:
    """How many products `user` may see (visible_products with no filter), exactly, in one
    query of one or two rows: the counts the database keeps (ProductCount), never a count of
    the products."""
    counts = ProductCount.objects.all()
    if not can_see_unpublished(user):
        counts = counts.filter(published=True)
    return counts.aggregate(products=Coalesce(Sum("products"), 0))["products"]


def product_detail(*, user, product_id: int) -> Product:
    """The product `product_id` as `user` may see it; raise ProductNotFound otherwise.

    An unpublished product is "not found" for customers, so its existence does not leak.
    """
    try:
        return visible_products(user=user).get(pk=product_id)
    except Product.DoesNotExist:
        raise ProductNotFound() from None


def _link_tree(nodes: list[Category]) -> list[Category]:
    """Attach `tree_children` (list) and `tree_parent_id` (int|None) to nodes sorted by path.

    Returns the nodes whose parent is not among `nodes` (the roots of what was fetched).
    """
    by_path: dict[str, Category] = {}
    tops: list[Category] = []
    for node in nodes:
        node.tree_children = []
        parent = by_path.get(node.path[: -Category.steplen])
        node.tree_parent_id = parent.pk if parent else None
        (parent.tree_children if parent else tops).append(node)
        by_path[node.path] = node
    return tops


def category_tree() -> list[Category]:
    """The whole category tree in one query: the roots, each with nested `tree_children`.

    Siblings are in tree order (by name: Category.node_order_by).
    """
    return _link_tree(list(Category.objects.order_by("path")))


def category_subtree(*, category_id: int) -> Category:
    """The category `category_id` with its descendants nested in `tree_children` and its
    parent's id in `tree_parent_id`; raise CategoryNotFound if there is no such category."""
    try:
        category = Category.objects.get(pk=category_id)
    except Category.DoesNotExist:
        raise CategoryNotFound() from None
    parent_path = category.path[: -Category.steplen]
    nodes = list(Category.objects.filter(path__startswith=category.path).order_by("path"))
    tops = _link_tree(nodes)
    if len(tops) != 1:  # Deleted or moved between the two queries.
        raise CategoryNotFound()
    top = tops[0]
    if parent_path:
        top.tree_parent_id = (
            Category.objects.filter(path=parent_path).values_list("pk", flat=True).first()
        )
    return top
