"""The import API: POST /api/catalog/imports/ (202), its report at GET .../{id}/ while it
runs and when done, and applying a dry run (POST .../{id}/apply/). The task runs when the
upload's transaction commits (eagerly in the test settings)."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from storefront.catalog.imports import jobs
from storefront.catalog.models import CatalogImport, Product
from storefront.catalog.tests.helpers import assert_error
from storefront.catalog.tests.test_import import table_counts

FILES = Path(__file__).parent / "import_files"
URL = "/api/catalog/imports/"

pytestmark = pytest.mark.django_db


def upload(name: str = "storefront_semicolon_bom.csv", content: bytes | None = None):
    data = content if content is not None else (FILES / name).read_bytes()
    return SimpleUploadedFile(name, data, content_type="text/csv")


def start(client, capture, **fields):
    """POST an import and run its task as the commit would."""
    with capture(execute=True):
        response = client.post(URL, {"file": upload(), **fields}, format="multipart")
    return response


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", URL), ("get", URL), ("get", f"{URL}1/"), ("post", f"{URL}1/apply/")],
)
def test_anonymous_401_customer_403(api_client, customer_client, method, path):
    before = CatalogImport.objects.count()
    body = {"file": upload()} if method == "post" else None

    anonymous = getattr(api_client, method)(path, body, format="multipart")
    customer = getattr(customer_client, method)(path, body, format="multipart")

    assert_error(anonymous, 401, "not_authenticated")
    assert_error(customer, 403, "permission_denied")
    assert CatalogImport.objects.count() == before
    assert not Product.objects.exists()


def test_dry_run_then_apply(staff_client, django_capture_on_commit_callbacks):
    before = table_counts()

    response = start(staff_client, django_capture_on_commit_callbacks, dry_run="true")

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["dry_run"] is True
    assert response["Location"].endswith(f"{URL}{body['id']}/")
    report = staff_client.get(response["Location"]).json()
    assert report["status"] == "done"
    assert (report["rows_total"], report["rows_done"], report["phase"]) == (4, 4, None)
    assert (report["created"], report["updated"], report["unchanged"]) == (3, 0, 0)
    assert report["variants"] == {"created": 4, "updated": 0, "unchanged": 0}
    assert report["errors"] == [] and report["applied"] is False
    assert [entry["product"] for entry in report["diff"]] == [
        "futbolka-sever",
        "dongjing-magukatpu",
        "hacking-book",
    ]
    after = table_counts()
    assert after.pop("catalog_catalogimport") == before.pop("catalog_catalogimport") + 1
    assert after == before

    with django_capture_on_commit_callbacks(execute=True):
        applied = staff_client.post(f"{URL}{body['id']}/apply/")

    assert applied.status_code == 202, applied.content
    result = staff_client.get(applied["Location"]).json()
    assert result["dry_run_of"] == body["id"] and result["dry_run"] is False
    assert (result["status"], result["applied"], result["created"]) == ("done", True, 3)
    assert Product.objects.count() == 3


def test_all_or_nothing_report_lists_every_error(staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(URL, {"file": upload("dirty.csv")}, format="multipart")

    report = staff_client.get(response["Location"]).json()
    assert report["status"] == "done" and report["applied"] is False
    assert {"row": 6, "column": "stock_quantity", "message": "Must not be negative."} in report[
        "errors"
    ]
    assert len(report["errors"]) == 7
    assert not Product.objects.exists()
    apply = staff_client.post(f"{URL}{report['id']}/apply/")
    assert_error(apply, 409, "import_not_applicable")


def test_progress_is_reported_while_it_runs(staff_client, staff):
    job = jobs.create_import(
        file=upload(), file_name="big.csv", options=jobs.reader.Options(), dry_run=False
    )
    CatalogImport.objects.filter(pk=job.pk).update(status=CatalogImport.Status.RUNNING)
    jobs._report(job.pk, total=100_000, done=42_000, phase="applying")

    report = staff_client.get(f"{URL}{job.pk}/").json()

    assert report["status"] == "running"
    assert (report["rows_total"], report["rows_done"], report["phase"]) == (
        100_000,
        42_000,
        "applying",
    )


def test_columns_mapping_and_file_size_are_checked(staff_client, settings):
    bad_column = staff_client.post(
        URL, {"file": upload(), "columns": "colour=Color"}, format="multipart"
    )
    bad_position = staff_client.post(
        URL, {"file": upload(), "columns": "name=Title", "no_header": "true"}, format="multipart"
    )
    settings.IMPORT_MAX_BYTES = 10
    too_large = staff_client.post(URL, {"file": upload()}, format="multipart")

    assert "colour" in assert_error(bad_column, 400, "invalid")["fields"]["columns"][0]
    assert assert_error(bad_position, 400, "invalid")["fields"]["columns"]
    assert assert_error(too_large, 400, "invalid")["fields"]["file"]
    assert not CatalogImport.objects.exists()


def test_unreadable_file_fails_with_its_reason(staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            URL,
            {"file": upload("latin.csv", "name\nCaf\xe9\n".encode("latin-1"))},
            format="multipart",
        )

    report = staff_client.get(response["Location"]).json()
    assert report["status"] == "failed"
    assert "not UTF-8" in report["failure"]
    assert report["errors"] == [{"row": None, "column": None, "message": report["failure"]}]


def test_a_task_delivered_twice_runs_the_import_once(
    staff_client, django_capture_on_commit_callbacks
):
    response = start(staff_client, django_capture_on_commit_callbacks)
    job_id = response.json()["id"]

    assert jobs.run_import(job_id) is None
    assert Product.objects.count() == 3


def test_unknown_import_404(staff_client):
    assert_error(staff_client.get(f"{URL}999999/"), 404, "not_found")
    assert_error(staff_client.post(f"{URL}999999/apply/"), 404, "not_found")
