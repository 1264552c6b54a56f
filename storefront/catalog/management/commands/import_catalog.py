"""manage.py import_catalog FILE [--dry-run] [--columns MAPPING] [--no-header] [--records KEY]
[--skip-invalid] [--no-create-categories]: import a catalog file in this process
(docs/import.md)."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from storefront.catalog.imports import importer, reader


class Command(BaseCommand):
    help = (
        "Import products and variants from a CSV or JSON file (or a ZIP of one with its "
        "images): all or nothing unless --skip-invalid; --dry-run shows what would change."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="A .csv, .json or .zip file.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and show the changes; write nothing."
        )
        parser.add_argument(
            "--columns",
            default="",
            help='Map our columns to the file\'s: "ours=theirs" pairs separated by commas, '
            'e.g. "name=Title,sku=Variant SKU", or positions with --no-header.',
        )
        parser.add_argument(
            "--no-header", action="store_true", help="The CSV file has no header row."
        )
        parser.add_argument(
            "--records", default="", help='The key of the list in a JSON object ("products").'
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Apply the valid products and report the others (default: all or nothing).",
        )
        parser.add_argument(
            "--no-create-categories",
            action="store_true",
            help="Report unknown category paths as errors instead of creating them.",
        )

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        try:
            columns = reader.parse_columns(options["columns"], no_header=options["no_header"])
        except ValueError as exc:
            raise CommandError(f"--columns: {exc}") from exc
        settings = reader.Options(
            columns=columns,
            no_header=options["no_header"],
            records=options["records"],
            skip_invalid=options["skip_invalid"],
            create_categories=not options["no_create_categories"],
        )

        def open_file() -> reader.Source:
            return reader.open_source(path)

        show_bar = sys.stderr.isatty() and options["verbosity"] > 0
        try:
            total = None
            if show_bar:
                source = open_file()
                try:
                    total = sum(1 for _ in reader.read_rows(source, settings))
                finally:
                    source.close()
            with tqdm(total=total, unit="rows", disable=not show_bar, file=sys.stderr) as bar:
                shown = {"phase": ""}

                def progress(done: int, phase: str) -> None:
                    if shown["phase"] != phase:
                        shown["phase"] = phase
                        bar.set_description(phase)
                        bar.reset(total=total)
                    bar.update(done - bar.n)

                result = importer.import_catalog(
                    open_file, options=settings, dry_run=options["dry_run"], progress=progress
                )
        except reader.FileError as exc:
            raise CommandError(str(exc)) from exc
        self._report(result, dry_run=options["dry_run"])
        if result.errors_total and not result.applied and not settings.skip_invalid:
            raise CommandError(
                f"{result.errors_total} error(s): nothing was imported (all or nothing; "
                "--skip-invalid applies the valid products)."
            )

    def _report(self, result: importer.Result, *, dry_run: bool) -> None:
        if dry_run and result.diff:
            for entry in result.diff:
                self.stdout.write(json.dumps(entry, ensure_ascii=False, sort_keys=True))
            if result.diff_truncated:
                self.stdout.write(f"(changes of the first {importer.DIFF_LIMIT} products shown)")
        for error in result.errors:
            row = error["row"] if error["row"] is not None else "-"
            column = f" [{error['column']}]" if error["column"] else ""
            self.stderr.write(f"row {row}{column}: {error['message']}")
        if result.errors_total > len(result.errors):
            self.stderr.write(f"... and {result.errors_total - len(result.errors)} more errors")
        if dry_run:
            verb = "would be written"
        elif result.applied:
            verb = "written"
        elif result.errors_total:
            verb = "nothing written"
        else:
            verb = "nothing to change"
        self.stdout.write(
            f"{result.rows_total} rows: products {result.created} created, {result.updated} "
            f"updated, {result.unchanged} unchanged, {result.skipped} skipped; variants "
            f"{result.variants_created} created, {result.variants_updated} updated, "
            f"{result.variants_unchanged} unchanged ({verb})."
        )
