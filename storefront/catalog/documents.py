"""The JSON representation of products, built by PostgreSQL in one statement per page.

A product as the list and detail show it (docs/catalog.md, "Products"; the fields declared by
api.serializers.ProductSerializer) holds its category, collections, tags, images and
variants. Loading those as model instances and turning them into dicts cost about ten times
the SQL itself (a page of 24 products is some 300 rows); here one statement returns each
product's object ready-made (json_build_object and ordered json_agg over the indexed child
tables) as text, which the list and detail send as it is (RawJSON,
storefront/core/api/renderers.py): Python parses a product only to finish an image URL it
cannot get from SQL exactly.

Formats are those of the DRF fields the serializer declares, so the output equals
`ProductSerializer(product).data` (storefront/catalog/tests/test_documents.py):
- prices: numeric(12, 2) as text ("19.90"), the decimal string DecimalField gives.
  `list_price` is the product's `min_price` (kept exact by the triggers of migration 0005),
  or the variant's price; `price` is the viewer's price of it: the member price at the tier
  of the viewer's membership, the list price for an anonymous visitor. The rule is
  pricing.quotes.member_price, written here as round(list_price * (100 - percentage) / 100,
  2): PostgreSQL rounds a numeric's halves away from zero (up, for prices, never negative),
  and its division keeps at least 8 decimals for any numeric(12, 2) price, more than the
  exact quotient's 6, so nothing is rounded twice (test_member_prices.py checks it against
  member_price). The tier's percentage is read once, inside the statement (the `tier` row);
- rating: {average, count} of the product's approved reviews, read from the row (the
  columns the reviews' triggers keep, catalog/models.py): `average` the stored
  numeric(3, 2) `rating_average` as text ("4.33", DecimalField's string), null without an
  approved review;
- datetimes: ISO 8601 in the current time zone (settings.TIME_ZONE), microseconds only when
  not zero, "Z" for UTC, as DateTimeField writes them;
- image URLs: absolute, `request.build_absolute_uri(storage.url(name))`. With the default
  file system storage and a name that URL-quoting and URL-joining leave as it is (what
  Django's storage writes: letters, digits, `-_.~!*()'` and `/`, no `.` or `..` segment),
  that is the media base URL followed by the name, joined in SQL; any other name or storage
  is passed through the storage's own url() in Python.
"""

import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage, storages
from django.db import connection
from django.utils import timezone

from storefront.catalog.querysets import tier_percentage_sql
from storefront.core.api.renderers import RawJSON

# A stored file name that FileSystemStorage.url() appends to its base URL unchanged:
# filepath_to_uri() quotes nothing in it, and urljoin() has no dot segment to resolve.
_PLAIN_NAME = r"^[A-Za-z0-9_~!*()'-][A-Za-z0-9_.~!*()'/-]*$"
_DOT_SEGMENT = r"(^|/)\.\.?(/|$)"
_NULL_URL = '"url" : null'


def _local_time(column: str, name: str) -> str:
    """SQL of the LATERAL columns `<name>_local` and `<name>_offset`: the timestamptz
    `column` as a local timestamp in the time zone of the statement's `tz` parameter, and
    that zone's offset from UTC then (computed once for _isoformat's several uses)."""
    local = f"{column} AT TIME ZONE %(tz)s"
    return f"{local} AS {name}_local, {local} - ({column} AT TIME ZONE 'UTC') AS {name}_offset"


def _isoformat(name: str) -> str:
    """SQL for DRF's ISO 8601 text of the timestamp _local_time named `name` (as
    datetime.isoformat() writes it: microseconds only when not zero, "+00:00" written
    "Z")."""
    local, offset = f"t.{name}_local", f"t.{name}_offset"
    return (
        f"to_char({local}, CASE WHEN date_trunc('second', {local}) = {local}"
        f" THEN 'YYYY-MM-DD\"T\"HH24:MI:SS' ELSE 'YYYY-MM-DD\"T\"HH24:MI:SS.US' END)"
        f" || CASE WHEN {offset} = interval '0' THEN 'Z'"
        f" WHEN {offset} < interval '0' THEN '-' || to_char(-{offset}, 'HH24:MI')"
        f" ELSE '+' || to_char({offset}, 'HH24:MI') END"
    )


def _refs(table: str, through: str, column: str) -> str:
    """SQL for a product's collections or tags: [{id, slug, name}] by name, then id."""
    return f"""COALESCE((
        SELECT json_agg(json_build_object('id', r.id, 'slug', r.slug, 'name', r.name)
                        ORDER BY r.name, r.id)
        FROM {through} AS link JOIN {table} AS r ON r.id = link.{column}
        WHERE link.product_id = p.id), '[]')"""


DOCUMENTS_SQL = f"""
SELECT p.id, json_build_object(
    'id', p.id,
    'slug', p.slug,
    'name', p.name,
    'description', p.description,
    'category', json_build_object('id', c.id, 'slug', c.slug, 'name', c.name),
    'collections', {_refs("catalog_collection", "catalog_product_collections", "collection_id")},
    'tags', {_refs("catalog_tag", "catalog_product_tags", "tag_id")},
    'images', COALESCE((
        SELECT json_agg(CASE WHEN %(media)s::text IS NOT NULL AND i.image ~ %(plain)s
                                  AND i.image !~ %(dots)s
                   THEN json_build_object('id', i.id, 'url', %(media)s || i.image, 'alt', i.alt)
                   -- Finished in Python (product_json): the storage's url() of `file`.
                   ELSE json_build_object('id', i.id, 'url', NULL, 'alt', i.alt,
                                          'file', i.image) END
               ORDER BY i.sort_order, i.id)
        FROM catalog_productimage AS i WHERE i.product_id = p.id), '[]'),
    'price', round(p.min_price * (100 - tier.percentage) / 100, 2)::text,
    'list_price', p.min_price::text,
    'currency', %(currency)s::text,
    'in_stock', p.in_stock,
    'is_published', p.is_published,
    'tax_class', p.tax_class,
    'rating', json_build_object('average', p.rating_average::text, 'count', p.rating_count),
    'variants', COALESCE((
        SELECT json_agg(json_build_object(
                   'id', v.id, 'sku', v.sku, 'name', v.name,
                   'price', round(v.price * (100 - tier.percentage) / 100, 2)::text,
                   'list_price', v.price::text,
                   'stock_quantity', v.stock_quantity, 'attributes', v.attributes,
                   'weight_grams', v.weight_grams)
               ORDER BY v.price, v.id)
        FROM catalog_productvariant AS v WHERE v.product_id = p.id), '[]'),
    'created_at', {_isoformat("created")},
    'updated_at', {_isoformat("updated")}
)::text
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS page (id, position)
JOIN catalog_product AS p ON p.id = page.id
JOIN catalog_category AS c ON c.id = p.category_id
CROSS JOIN LATERAL (
    SELECT {_local_time("p.created_at", "created")}, {_local_time("p.updated_at", "updated")}
) AS t
CROSS JOIN (SELECT {tier_percentage_sql("%(membership)s")} AS percentage) AS tier
WHERE p.is_published OR NOT %(published_only)s
ORDER BY page.position
"""


def product_json(
    product_ids: Sequence[int], *, request, published_only: bool, membership: str | None = None
) -> list[RawJSON]:
    """The products `product_ids` as the API shows them to a viewer of `membership`
    (pricing.quotes.membership_of: None for an anonymous visitor, who sees list prices; each
    product the text of a JSON object in the shape of ProductSerializer, as a RawJSON whose
    `id` is the product's), in the order of `product_ids`, in one query (none for no id).

    Ids of products that do not exist, or are unpublished when `published_only`, are left
    out. `request` makes the image URLs absolute (None: relative URLs, as the serializer
    gives without a request). Python parses a product's text only when an image URL needs
    the storage's url() (see the module docstring).
    """
    if not product_ids:
        return []
    media = _media_prefix(request)
    params = {
        "ids": list(product_ids),
        "published_only": published_only,
        "currency": settings.STORE_CURRENCY,
        "tz": timezone.get_current_timezone_name(),
        "media": media,
        "plain": _PLAIN_NAME,
        "dots": _DOT_SEGMENT,
        "membership": membership,
    }
    with connection.cursor() as cursor:
        cursor.execute(DOCUMENTS_SQL, params)
        rows = cursor.fetchall()
    return [RawJSON(_finish_urls(text, request), id=pk) for pk, text in rows]


def product_documents(
    product_ids: Sequence[int], *, request, published_only: bool, membership: str | None = None
) -> list[dict[str, Any]]:
    """product_json's products as dicts, for callers that read them."""
    texts = product_json(
        product_ids, request=request, published_only=published_only, membership=membership
    )
    return [json.loads(text) for text in texts]


def _finish_urls(text: str, request) -> str:
    """`text` with each image URL the SQL left null made by the storage's url()."""
    # json_build_object writes a null URL exactly so; a match elsewhere (inside a string the
    # quotes would be escaped; an attribute's jsonb is written `"url": null`) costs a parse.
    if _NULL_URL not in text:
        return text
    document = json.loads(text)
    for image in document["images"]:
        name = image.pop("file", None)
        if name is not None:
            url = default_storage.url(name)
            image["url"] = request.build_absolute_uri(url) if request is not None else url
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _media_prefix(request) -> str | None:
    """What FileSystemStorage.url(name) gives, made absolute, before a plain `name`; None
    for another storage, whose url() is called for each image."""
    storage = storages["default"]
    if type(storage) is not FileSystemStorage:
        return None
    base = storage.base_url
    if base is None or not base.endswith("/"):
        return None
    return request.build_absolute_uri(base) if request is not None else base
