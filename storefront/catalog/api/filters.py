"""Query parameters of the product list (django-filter). A bad value answers 400, never 500.

Prices are the viewer's, as the list shows them in `price`: `min_price` and `max_price` bound
the member price at the viewer's tier (list prices for anonymous visitors), exactly, as a
range of the indexed `min_price` (querysets.price_condition); `ordering=price` sorts by
`min_price`, which sorts by every tier's price too. Ratings are the stored `rating_average`
of the approved reviews (catalog/models.py): `min_rating` bounds it, `ordering=rating` sorts
by it, unrated products last either way.
"""

import re
from collections.abc import Iterable
from decimal import Decimal

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import slug_re
from django.db.models import F
from django.http import QueryDict
from django_filters.constants import EMPTY_VALUES
from django_filters.fields import ModelChoiceField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field

from storefront.catalog.models import Category, Collection, Product, ProductVariant, Tag
from storefront.catalog.querysets import ProductQuerySet, categories_with_subtree_ids
from storefront.core.api.filters import StrictBooleanFilter
from storefront.pricing import quotes


class SlugChoiceField(ModelChoiceField):
    """A model chosen by slug; a value that cannot be a slug is refused before any query.

    (A NUL byte, for one, would make PostgreSQL raise instead of finding nothing.)
    """

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not isinstance(value, str) or not slug_re.match(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class SlugChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = SlugChoiceField


# A price bound as the API writes prices: digits, optionally a point and one or two more, or
# nothing (an empty value is no bound, as for every filter). The field refuses anything else
# before reading it as a number, and the OpenAPI schema states the same pattern, so a client
# (or a fuzzer) reading the schema sends what the server takes.
PRICE_BOUND_PATTERN = r"^([0-9]{1,50}(\.[0-9]{1,2})?)?$"


class PriceBoundField(forms.DecimalField):
    """A price bound: PRICE_BOUND_PATTERN, then a Decimal from 0 to 1e50 (django-filter's cap)."""

    default_error_messages = {"invalid": "Enter a price such as 25 or 25.50."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not isinstance(value, str) or not re.fullmatch(PRICE_BOUND_PATTERN, value.strip()):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


@extend_schema_field({"type": "string", "pattern": PRICE_BOUND_PATTERN, "example": "25.50"})
class PriceFilter(django_filters.NumberFilter):
    """A bound on a price, in the store currency: written as prices are (PRICE_BOUND_PATTERN:
    "25", "25.5", "25.50"), at most 50 digits before the point; anything else is a 400. A bound
    above every price is fine: it finds nothing, or everything.

    PostgreSQL's `numeric` cannot hold a number such as 1e-16384 or -1e99999, which answered
    500 before bounds were read this way.
    """

    field_class = PriceBoundField


# A rating bound: 0 to 5 with at most 2 decimals ("4", "4.5", "3.75"), or nothing (no bound).
RATING_BOUND_PATTERN = r"^(([0-4](\.[0-9]{1,2})?)|(5(\.0{1,2})?))?$"


class RatingBoundField(forms.DecimalField):
    """A rating bound: RATING_BOUND_PATTERN, then a Decimal."""

    default_error_messages = {"invalid": "Enter a rating from 0 to 5 such as 4 or 4.5."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not isinstance(value, str) or not re.fullmatch(RATING_BOUND_PATTERN, value.strip()):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


@extend_schema_field({"type": "string", "pattern": RATING_BOUND_PATTERN, "example": "4.5"})
class RatingFilter(django_filters.NumberFilter):
    """A lower bound on a product's average rating (0 to 5, up to 2 decimals); anything else
    is a 400."""

    field_class = RatingBoundField


class ProductOrderingFilter(django_filters.OrderingFilter):
    """`ordering=price|-price|name|-name|created|-created|rating|-rating`, comma-separated
    for several.

    Products without a price (no variant), and by rating those without an approved review,
    sort last either way; ties go newest first (by id). `rating` sorts by the average
    (`rating.average`, 2 decimals), not the count.
    `price` sorts by `min_price`, the list price: also an order of every tier's prices (a
    member price never decreases as the list price grows), and the same order for anonymous
    visitors and each tier. Two products whose member prices round to the same cent while
    their list prices differ keep the list prices' order, not newest first.
    """

    def filter(self, qs: ProductQuerySet, value):
        if not value:
            return qs
        ordering = []
        for param in value:
            descending = param.startswith("-")
            field = self.param_map[param.removeprefix("-")]
            expression = F(field)
            ordering.append(
                expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
            )
        return qs.order_by(*ordering, "-id")


class ProductFilter(django_filters.FilterSet):
    """Filters of GET /api/products/; prices are in the store currency (settings.STORE_CURRENCY)."""

    category = SlugChoiceFilter(
        field_name="category",
        to_field_name="slug",
        queryset=categories_with_subtree_ids(Category.objects.all()),
        method="filter_category",
        help_text="Category slug: products in this category or any of its descendants.",
        error_messages={"invalid_choice": "No category has this slug."},
    )
    collection = SlugChoiceFilter(
        field_name="collections",
        to_field_name="slug",
        queryset=Collection.objects.all(),
        method="filter_collection",
        help_text="Collection slug: products in this collection.",
        error_messages={"invalid_choice": "No collection has this slug."},
    )
    tag = SlugChoiceFilter(
        field_name="tags",
        to_field_name="slug",
        queryset=Tag.objects.all(),
        method="filter_tag",
        help_text="Tag slug: products with this tag.",
        error_messages={"invalid_choice": "No tag has this slug."},
    )
    min_price = PriceFilter(
        method="filter_min_price",
        help_text="Products whose `price` (the viewer's price of the lowest variant price: "
        "member prices for customers, list prices for anonymous visitors) is at least this "
        "(store currency).",
    )
    max_price = PriceFilter(
        method="filter_max_price",
        help_text="Products whose `price` (the viewer's price, as for min_price) is at most "
        "this (store currency).",
    )
    min_rating = RatingFilter(
        method="filter_min_rating",
        help_text="Products whose `rating.average` (of their approved reviews, 2 decimals) is "
        "at least this, from 0 to 5; products without an approved review are left out.",
    )
    in_stock = StrictBooleanFilter(
        method="filter_in_stock",
        help_text="true: products with a variant in stock; false: products with none.",
    )
    sku = django_filters.CharFilter(
        method="filter_sku",
        max_length=64,
        help_text="A variant's exact SKU: the product holding it (case-sensitive).",
    )
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=200,
        help_text=(
            "Words to find in the name or description. On PostgreSQL: full-text search with "
            'web search syntax (`"a phrase"`, `-word`, `or`), best matches first unless '
            "`ordering` is given."
        ),
    )
    # Last: an explicit ordering replaces the relevance order `search` sets.
    ordering = ProductOrderingFilter(
        fields=(
            ("min_price", "price"),
            ("name", "name"),
            ("created_at", "created"),
            ("rating_average", "rating"),
        ),
        help_text="Sort by price, name, created or rating (prefix - for descending); default "
        "newest first. By price: by `list_price`, which also orders by the viewer's `price` (a "
        "member price never decreases as the list price grows). By rating: by `rating.average`, "
        "products without an approved review last.",
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        # FilterSet.__init__ deep-copies every filter, with the querysets of the slug filters,
        # and get_form_class builds a new form class, for each request: about 2 ms of a list
        # request (profiled at 1M products, cache off). These filters keep no state between
        # requests, so the class's own filters and one form class are shared; filter_queryset
        # calls a filter's `method` on this filter set instead of through the filter's
        # `parent`, the one attribute FilterSet sets on its copies.
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = Product.objects.all() if queryset is None else queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = self.base_filters

    def get_form_class(self):
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            for filter_ in cls.base_filters.values():
                filter_.model = cls._meta.model  # the fields' labels
            cls._form_class = super().get_form_class()
        return cls._form_class

    def filter_queryset(self, queryset: ProductQuerySet, skip: Iterable[str] = ()):
        """`queryset` narrowed by every cleaned filter but those named in `skip` (the facets
        count each facet without its own filter: storefront/catalog/facets.py). Call
        is_valid() first."""
        skipped = frozenset(skip)
        for name, value in self.form.cleaned_data.items():
            if name in skipped:
                continue
            filter_ = self.filters[name]
            if filter_.method is None:
                queryset = filter_.filter(queryset, value)
            elif value not in EMPTY_VALUES:  # as django-filter's FilterMethod
                queryset = getattr(self, filter_.method)(queryset, filter_.field_name, value)
        return queryset

    def filter_category(self, queryset: ProductQuerySet, name, category: Category):
        return queryset.in_category(category)

    def filter_collection(self, queryset: ProductQuerySet, name, collection: Collection):
        return queryset.filter(collections=collection)

    def filter_tag(self, queryset: ProductQuerySet, name, tag: Tag):
        return queryset.filter(tags=tag)

    def filter_min_price(self, queryset: ProductQuerySet, name, value: Decimal):
        return queryset.price_between(low=value, membership=self.membership)

    def filter_max_price(self, queryset: ProductQuerySet, name, value: Decimal):
        return queryset.price_between(high=value, membership=self.membership)

    @property
    def membership(self) -> str | None:
        """The viewer's membership, whose prices the price bounds are on (None: anonymous, or
        no request: list prices)."""
        return quotes.membership_of(getattr(self.request, "user", None))

    def filter_min_rating(self, queryset: ProductQuerySet, name, value: Decimal):
        return queryset.rated_at_least(value)

    def filter_in_stock(self, queryset: ProductQuerySet, name, value: bool):
        return queryset.in_stock() if value else queryset.out_of_stock()

    def filter_sku(self, queryset: ProductQuerySet, name, value: str):
        return queryset.filter(pk__in=ProductVariant.objects.filter(sku=value).values("product"))

    def filter_search(self, queryset: ProductQuerySet, name, value: str):
        return queryset.search(value.strip()) if value.strip() else queryset


class ProductFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend, which builds no filter set for a request that has none of its
    parameters (the unfiltered list: nothing to validate or filter, the same answer, about
    0.4 ms less of each such request)."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not any(
            name in request.query_params for name in filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)
