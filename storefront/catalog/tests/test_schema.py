import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from storefront.catalog.tests.factories import CategoryFactory


@pytest.fixture(scope="module")
def schema() -> dict:
    GENERATOR_STATS.reset()
    generated = SchemaGenerator(urlconf="storefront.catalog.tests.schema_urls").get_schema(
        request=None, public=True
    )
    # What `manage.py spectacular --fail-on-warn` refuses: any warning or error.
    assert not GENERATOR_STATS, "drf-spectacular warned about the catalog views"
    return generated


def test_catalog_schema_is_valid_openapi(schema):
    validate_schema(schema)


def test_catalog_schema_documents_every_endpoint(schema):
    assert {
        "/api/products/",
        "/api/products/{id}/",
        "/api/products/facets/",
        "/api/products/{id}/images/",
        "/api/products/{id}/images/{image_id}/",
        "/api/categories/",
        "/api/categories/{id}/",
        "/api/collections/",
        "/api/collections/{id}/",
        "/api/tags/",
        "/api/tags/{id}/",
        "/api/variants/",
        "/api/variants/stock/",
        "/api/variants/{id}/notify-me/",
        "/api/catalog/export/",
        "/api/catalog/imports/",
        "/api/catalog/imports/{id}/",
        "/api/catalog/imports/{id}/apply/",
    } == set(schema["paths"])


def test_product_list_schema_lists_the_filters(schema):
    parameters = {p["name"] for p in schema["paths"]["/api/products/"]["get"]["parameters"]}

    assert parameters >= {
        "category",
        "collection",
        "tag",
        "min_price",
        "max_price",
        "in_stock",
        "search",
        "ordering",
        "page",
        "page_size",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("client_name", ["api_client", "customer_client", "staff_client"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/products/",
        "/api/categories/",
        "/api/categories/{id}/",
        "/api/collections/",
        "/api/tags/",
    ],
)
def test_options_describes_endpoints_without_error(request, client_name, path):
    category = CategoryFactory()
    CategoryFactory(parent=category)
    client = request.getfixturevalue(client_name)

    response = client.options(path.format(id=category.pk))

    assert response.status_code == 200
