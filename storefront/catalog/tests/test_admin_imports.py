"""The admin's import page: upload a file (a dry run by default), read the changes it would
make, apply it with the button."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from storefront.catalog.models import CatalogImport, Product

FILES = Path(__file__).parent / "import_files"
ADD = "/admin/catalog/catalogimport/add/"

pytestmark = pytest.mark.django_db


def test_upload_shows_the_dry_run_and_the_button_applies_it(
    admin_client, django_capture_on_commit_callbacks
):
    data = (FILES / "headerless.csv").read_bytes()
    form = {
        "file": SimpleUploadedFile("legacy.csv", data),
        "dry_run": "on",
        "no_header": "on",
        "columns": "name=4,sku=3,category=2,description=5,price=8,stock_quantity=9",
        "create_categories": "on",
    }

    with django_capture_on_commit_callbacks(execute=True):
        added = admin_client.post(ADD, form)

    dry_run = CatalogImport.objects.get()
    assert added.status_code == 302
    assert (dry_run.status, dry_run.dry_run, dry_run.created) == ("done", True, 2)
    page = admin_client.get(f"/admin/catalog/catalogimport/{dry_run.pk}/change/")
    content = page.content.decode()
    assert "Apply this dry run" in content
    assert "CUP-TALL" in content and "Kitchen &gt; Cups" in content
    assert not Product.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        applied = admin_client.post(f"/admin/catalog/catalogimport/{dry_run.pk}/apply/")

    job = CatalogImport.objects.exclude(pk=dry_run.pk).get()
    assert applied.status_code == 302 and applied["Location"].endswith(f"/{job.pk}/change/")
    assert (job.status, job.applied, job.dry_run_of_id) == ("done", True, dry_run.pk)
    assert Product.objects.count() == 2
    assert "Apply this dry run" not in admin_client.get(applied["Location"]).content.decode()


def test_bad_mapping_is_a_form_error(admin_client):
    form = {"file": SimpleUploadedFile("x.csv", b"name\nA\n"), "columns": "colour=Color"}

    response = admin_client.post(ADD, form)

    assert response.status_code == 200
    assert "No column" in response.content.decode()
    assert not CatalogImport.objects.exists()
