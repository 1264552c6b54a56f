"""A catalog import uploaded through the API runs in a real Celery worker process, on the
real Redis and the test database, and its report follows it to the end."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import StaffFactory
from storefront.catalog.models import CatalogImport, Product
from storefront.notifications.tests.conftest import broker, broker_url_for_tests, start_worker

FILES = Path(__file__).parents[1] / "storefront" / "catalog" / "tests" / "import_files"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def import_worker(django_db_setup, tmp_path):
    worker = start_worker(
        beat=False,
        tmp=tmp_path,
        env={"IMPORTS_ROOT": str(settings.IMPORTS_ROOT), "MEDIA_ROOT": str(settings.MEDIA_ROOT)},
    )
    yield worker
    worker.stop()


def test_the_worker_runs_an_uploaded_import_to_the_end(import_worker):
    client = APIClient()
    client.force_authenticate(StaffFactory())
    data = (FILES / "woocommerce.csv").read_bytes()
    columns = (
        "product_key=Parent,sku=SKU,name=Name,published=Published,description=Description,"
        "stock_quantity=Stock,price=Regular price,category=Categories,tags=Tags"
    )

    with broker(broker_url_for_tests()):
        response = client.post(
            "/api/catalog/imports/",
            {"file": SimpleUploadedFile("wc.csv", data), "columns": columns},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    import_worker.wait_idle(
        until=lambda: CatalogImport.objects.filter(
            pk=response.json()["id"], status=CatalogImport.Status.DONE
        ).exists()
    )

    report = client.get(response["Location"]).json()
    assert (report["status"], report["applied"], report["errors"]) == ("done", True, [])
    assert (report["rows_total"], report["rows_done"], report["created"]) == (5, 5, 2)
    assert report["started_at"] <= report["finished_at"]
    assert set(Product.objects.values_list("name", flat=True)) == {"Hoodie", "Beanie"}
