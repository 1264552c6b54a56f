"""`manage.py export_catalog [--format csv|json] [--output FILE]`: write the whole catalog
(unpublished products included) as the file `import_catalog` reads back (docs/export.md).

Streams page by page (storefront/catalog/exports.py), so memory stays flat however large the
catalog; writes UTF-8 to FILE, or to standard output by default. The bytes are those of
GET /api/catalog/export/.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from storefront.catalog.exports import PAGE_SIZE, iter_catalog_csv, iter_catalog_json

EXPORTERS = {"csv": iter_catalog_csv, "json": iter_catalog_json}


class Command(BaseCommand):
    help = "Export the catalog (every product and variant) as CSV or JSON, to stdout or a file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--format", choices=sorted(EXPORTERS), default="csv")
        parser.add_argument(
            "--output", type=Path, default=None, help="File to write (default: standard output)."
        )
        parser.add_argument(
            "--page-size",
            type=int,
            default=PAGE_SIZE,
            help=f"Products read per query (default {PAGE_SIZE}).",
        )

    def handle(self, *args, format: str, output: Path | None, page_size: int, **options) -> None:
        if page_size < 1:
            raise CommandError("--page-size must be at least 1.")
        chunks = EXPORTERS[format](page_size=page_size)
        if output is None:
            # UTF-8 bytes where standard output takes them (the file's encoding must not
            # depend on the locale); text otherwise (a StringIO given to call_command).
            binary = getattr(self.stdout, "buffer", None)
            if binary is None:
                for chunk in chunks:
                    self.stdout.write(chunk, ending="")
                return
            self.stdout.flush()
            self._write(chunks, binary)
            binary.flush()
            return
        try:
            with output.open("wb") as stream:
                self._write(chunks, stream)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror}.") from exc

    @staticmethod
    def _write(chunks, stream) -> None:
        for chunk in chunks:
            stream.write(chunk.encode("utf-8"))
