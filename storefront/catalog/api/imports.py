"""Catalog imports for staff (docs/import.md): POST /api/catalog/imports/ uploads a file and
queues its import (202), GET /api/catalog/imports/ lists the latest, GET
/api/catalog/imports/{id}/ reports one (progress while it runs, the counts, errors and the
dry run's changes when done), POST /api/catalog/imports/{id}/apply/ applies a dry run (202).

Staff only: anonymous 401, customers 403. Errors in the one shape of docs/api.md.
"""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from storefront.catalog.exceptions import ImportNotApplicable, ImportNotFound
from storefront.catalog.imports import jobs, reader
from storefront.catalog.models import CatalogImport
from storefront.core.api.schema import raises

MAX_LISTED = 50


class ImportUploadSerializer(serializers.Serializer):
    """The multipart body of POST /api/catalog/imports/."""

    file = serializers.FileField(
        help_text="A CSV (UTF-8, comma or semicolon) or JSON file, or a ZIP holding one of "
        "them and the image files it names."
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Check and list the changes; write nothing."
    )
    columns = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=4000,
        help_text='Our columns mapped to the file\'s: "ours=theirs" pairs separated by commas '
        '(e.g. "name=Title,sku=Variant SKU"); positions from 1 with no_header.',
    )
    no_header = serializers.BooleanField(default=False, help_text="The CSV has no header row.")
    records = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text='The key of the list of records in a JSON object (e.g. "products").',
    )
    skip_invalid = serializers.BooleanField(
        default=False,
        help_text="Apply the valid products and report the others (default: all or nothing).",
    )
    create_categories = serializers.BooleanField(
        default=True, help_text="Create missing levels of category paths (else a row error)."
    )

    def validate_file(self, file):
        limit = settings.IMPORT_MAX_BYTES
        if file.size > limit:
            raise serializers.ValidationError(f"The file is larger than the {limit} bytes allowed.")
        return file

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            attrs["columns"] = reader.parse_columns(attrs["columns"], no_header=attrs["no_header"])
        except ValueError as exc:
            raise serializers.ValidationError({"columns": [str(exc)]}) from exc
        return attrs


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        allow_null=True, help_text="The data row (1 = the first after the header); null: the file."
    )
    column = serializers.CharField(allow_null=True, help_text="The file's name of the column.")
    message = serializers.CharField()


class VariantCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class CatalogImportSerializer(serializers.ModelSerializer):
    """An import as staff see it. Counts of products: `created`, `updated`, `unchanged`,
    `skipped` (left out by skip_invalid); `variants` the same for variants. `rows_total`
    and `rows_done` count the file's rows; while it runs, `phase` is "checking" (every row
    validated, nothing written) then "applying" (the one transaction that writes). `diff`:
    a dry run's changes per product (null otherwise)."""

    rows_total = serializers.SerializerMethodField()
    rows_done = serializers.SerializerMethodField()
    phase = serializers.SerializerMethodField()
    variants = serializers.SerializerMethodField()
    errors = ImportErrorSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = CatalogImport
        fields = [
            "id",
            "url",
            "status",
            "dry_run",
            "file_name",
            "options",
            "rows_total",
            "rows_done",
            "phase",
            "created",
            "updated",
            "unchanged",
            "skipped",
            "variants",
            "errors",
            "diff",
            "diff_truncated",
            "applied",
            "failure",
            "dry_run_of",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def _progress(self, job: CatalogImport) -> dict:
        cached = self.context.setdefault("progress", {})
        if job.pk not in cached:
            cached[job.pk] = jobs.progress_of(job)
        return cached[job.pk]

    def get_rows_total(self, job: CatalogImport) -> int:
        return self._progress(job)["rows_total"]

    def get_rows_done(self, job: CatalogImport) -> int:
        return self._progress(job)["rows_done"]

    @extend_schema_field(serializers.ChoiceField(choices=["checking", "applying"], allow_null=True))
    def get_phase(self, job: CatalogImport) -> str | None:
        return self._progress(job)["phase"]

    @extend_schema_field(VariantCountsSerializer)
    def get_variants(self, job: CatalogImport) -> dict[str, int]:
        return {
            "created": job.variants_created,
            "updated": job.variants_updated,
            "unchanged": job.variants_unchanged,
        }

    def get_url(self, job: CatalogImport) -> str:
        return reverse("catalog-import-detail", args=[job.pk], request=self.context.get("request"))


def _staff_import(pk: int) -> CatalogImport:
    job = CatalogImport.objects.filter(pk=pk).first()
    if job is None:
        raise ImportNotFound()
    return job


class CatalogImportListView(APIView):
    """Start a catalog import, or list the latest (staff)."""

    permission_classes = [IsAdminUser]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Start a catalog import (staff)",
        description="Upload a catalog file (docs/import.md: one row per variant; CSV, JSON, "
        "or a ZIP of one of them with the images it names) and queue its import; the worker "
        "runs it. Answers 202 with the import (status `queued`) and its URL in `Location`; "
        "poll that URL for progress and the result. A dry run writes nothing and lists the "
        "changes in `diff`; apply it with POST .../{id}/apply/. Without `skip_invalid` the "
        "import is all or nothing: one bad row and nothing is written.",
        request={"multipart/form-data": ImportUploadSerializer},
        responses={202: CatalogImportSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = ImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = jobs.create_import(
            file=data["file"],
            file_name=data["file"].name or "import",
            options=reader.Options.from_json(data),
            dry_run=data["dry_run"],
            created_by=request.user,
        )
        return _accepted(job, request)

    @extend_schema(
        summary="The latest catalog imports (staff)",
        description=f"The {MAX_LISTED} latest imports, newest first. Not paginated.",
        responses={200: CatalogImportSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        latest = CatalogImport.objects.order_by("-created_at", "-id")[:MAX_LISTED]
        body = CatalogImportSerializer(latest, many=True, context={"request": request}).data
        return Response(body)


class CatalogImportDetailView(APIView):
    """One catalog import: progress while it runs, what it did (or would do) when done."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="A catalog import (staff)",
        description="`status` queued, running, done or failed. While it runs, `rows_done` "
        "of `rows_total` in `phase` checking (nothing written yet), then applying. When "
        "done: the counts, `errors` [{row, column, message}] and, for a dry run, `diff`. "
        "`applied` tells whether anything was written.",
        responses={200: CatalogImportSerializer},
    )
    def get(self, request: Request, pk: int) -> Response:
        job = _staff_import(pk)
        return Response(CatalogImportSerializer(job, context={"request": request}).data)


class CatalogImportApplyView(APIView):
    """Apply a finished dry run: a new import of the same file and options."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="Apply a dry run (staff)",
        description="Queue the import that the dry run `id` showed: the same file and "
        "options, written this time (the file is read again, so a change made since the dry "
        "run is taken into account). Answers 202 with the new import. 409 "
        "`import_not_applicable` unless `id` is a finished dry run (one that found errors "
        "can be applied only with `skip_invalid`).",
        request=None,
        responses={202: CatalogImportSerializer},
    )
    @raises(ImportNotApplicable)
    def post(self, request: Request, pk: int) -> Response:
        job = jobs.apply_dry_run(dry_run=_staff_import(pk), created_by=request.user)
        return _accepted(job, request)


def _accepted(job: CatalogImport, request: Request) -> Response:
    body = CatalogImportSerializer(job, context={"request": request}).data
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})
