"""Catalog imports staff start through the API or the admin: stored, run by the worker, and
reported while they run (docs/import.md).

- `create_import`: store the uploaded file, record a queued CatalogImport, send the task
  when the transaction commits.
- `apply_dry_run`: a new import of a finished dry run's file and options, not a dry run.
- `run_import` (the Celery task storefront.catalog.tasks.run_catalog_import): queued ->
  running -> done | failed along CatalogImport.TRANSITIONS, each a conditional update, so a
  task delivered twice runs the import once.
- `progress_of`: rows done and the phase of a running import, kept in the cache while it
  runs (its counts reach the row when it ends: the apply runs in one transaction, whose
  writes no other connection sees before it commits).
"""

import logging
import uuid
from pathlib import PurePath

from django.core.cache import cache
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from storefront.catalog.exceptions import ImportNotApplicable
from storefront.catalog.imports import importer, reader
from storefront.catalog.models import CatalogImport

logger = logging.getLogger(__name__)

PROGRESS_SECONDS = 24 * 3600
INTERNAL_FAILURE = "The import stopped on an internal error; nothing was applied."


def _progress_key(import_id: int) -> str:
    return f"catalog-import:{import_id}:progress"


def create_import(
    *, file: File, file_name: str, options: reader.Options, dry_run: bool, created_by=None
) -> CatalogImport:
    """Store `file` (an upload: CSV, JSON, or a ZIP of one of them with images) under
    settings.IMPORTS_ROOT and queue its import with `options`; return the CatalogImport
    (status queued). The worker runs it once the caller's transaction commits."""
    suffix = PurePath(file_name).suffix.lower()[:10]
    job = CatalogImport(
        file_name=file_name[:255],
        options=options.as_json(),
        dry_run=dry_run,
        created_by=created_by,
    )
    job.file.save(f"{uuid.uuid4().hex}{suffix}", file, save=False)
    job.save()
    _queue(job)
    return job


def apply_dry_run(*, dry_run: CatalogImport, created_by=None) -> CatalogImport:
    """Queue the import that dry run `dry_run` showed: the same file and options, applied.

    Raises ImportNotApplicable (409) unless `dry_run` is a dry run that is done (a dry run
    that found errors can be applied only with skip_invalid; it would change nothing
    otherwise).
    """
    if not dry_run.dry_run or dry_run.status != CatalogImport.Status.DONE:
        raise ImportNotApplicable("Only a finished dry run can be applied.")
    if dry_run.errors and not dry_run.options.get("skip_invalid"):
        raise ImportNotApplicable(
            "This dry run found errors and the import is all or nothing: fix the file, or "
            "start an import with skip_invalid."
        )
    job = CatalogImport.objects.create(
        file=dry_run.file.name,
        file_name=dry_run.file_name,
        options=dry_run.options,
        dry_run=False,
        created_by=created_by,
        dry_run_of=dry_run,
    )
    _queue(job)
    return job


def _queue(job: CatalogImport) -> None:
    from storefront.catalog.tasks import run_catalog_import

    transaction.on_commit(lambda: run_catalog_import.delay(job.pk))


def run_import(import_id: int) -> CatalogImport | None:
    """Run queued import `import_id`; return it as it ended, or None if it was not queued
    (run already, or by another delivery of the task)."""
    started = timezone.now()
    if not _move(import_id, CatalogImport.Status.RUNNING, started_at=started):
        return None
    job = CatalogImport.objects.get(pk=import_id)
    options = reader.Options.from_json(job.options)
    path = job.file.path

    def open_file() -> reader.Source:
        return reader.open_source(path, name=job.file_name)

    try:
        total = _count_rows(open_file, options)
        _report(import_id, total=total, done=0, phase="checking")
        result = importer.import_catalog(
            open_file,
            options=options,
            dry_run=job.dry_run,
            progress=lambda done, phase: _report(import_id, total=total, done=done, phase=phase),
        )
    except reader.FileError as exc:
        _fail(import_id, str(exc))
    except Exception:
        logger.exception("Catalog import %s failed.", import_id)
        _fail(import_id, INTERNAL_FAILURE)
    else:
        _move(
            import_id,
            CatalogImport.Status.DONE,
            finished_at=timezone.now(),
            rows_total=result.rows_total,
            rows_done=result.rows_total,
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            skipped=result.skipped,
            variants_created=result.variants_created,
            variants_updated=result.variants_updated,
            variants_unchanged=result.variants_unchanged,
            errors=result.errors,
            diff=result.diff,
            diff_truncated=result.diff_truncated,
            applied=result.applied,
        )
    cache.delete(_progress_key(import_id))
    return CatalogImport.objects.get(pk=import_id)


def progress_of(job: CatalogImport) -> dict:
    """{"rows_total", "rows_done", "phase"} of `job`: from the cache while it runs
    (phase "checking", then "applying" unless it is a dry run or found errors), from its
    row otherwise (phase null)."""
    if job.status == CatalogImport.Status.RUNNING:
        progress = cache.get(_progress_key(job.pk))
        if progress:
            return progress
    return {"rows_total": job.rows_total, "rows_done": job.rows_done, "phase": None}


def _count_rows(open_file, options: reader.Options) -> int:
    source = open_file()
    try:
        return sum(1 for _ in reader.read_rows(source, options))
    finally:
        source.close()


def _report(import_id: int, *, total: int, done: int, phase: str) -> None:
    progress = {"rows_total": total, "rows_done": min(done, total), "phase": phase}
    try:
        cache.set(_progress_key(import_id), progress, timeout=PROGRESS_SECONDS)
    except Exception:
        # Progress is a courtesy: an unreachable cache must not stop the import.
        logger.warning("Catalog import %s: progress not reported (cache unreachable).", import_id)


def _fail(import_id: int, message: str) -> None:
    _move(
        import_id,
        CatalogImport.Status.FAILED,
        finished_at=timezone.now(),
        failure=message,
        errors=[{"row": None, "column": None, "message": message}],
        applied=False,
    )


def _move(import_id: int, status: str, **fields) -> bool:
    """Move the import to `status` from any status CatalogImport.TRANSITIONS allows it from,
    with `fields`; whether it moved."""
    sources = [old for old, targets in CatalogImport.TRANSITIONS.items() if status in targets]
    moved = CatalogImport.objects.filter(pk=import_id, status__in=sources).update(
        status=status, updated_at=timezone.now(), **fields
    )
    return moved == 1
