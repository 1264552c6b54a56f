"""`manage.py load_demo_catalog`: load Saleor's demo catalog from data/saleor/ (BSD-3-Clause).

Creates, in one transaction, whatever is missing of: the 16 categories (a 3-level tree), the
2 collections (Featured Products, Summer Picks), the tags (product types and product
attribute values), the 32 products, their 73 variants (SKUs, USD prices, stock) and 50 product
images, copied into MEDIA_ROOT. Idempotent: existing rows (by slug) are left as they are, and
a second run creates nothing and says the catalog is already loaded. `make run` calls it on
every start.

Of the 51 files in data/saleor/images/products/, saleor-digital-product.png stays unattached:
no product uses it upstream (data/saleor/README.txt). See storefront/catalog/demo.py for the
other upstream quirks fixed on the way.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from storefront.catalog.demo import DemoDataError, default_data_dir, load_demo_catalog


class Command(BaseCommand):
    help = "Load the demo catalog from data/saleor/ (idempotent: a second run creates nothing)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="Folder holding the Saleor demo data (default: data/saleor in the project).",
        )

    def handle(self, *args, data_dir: Path | None, **options) -> None:
        try:
            result = load_demo_catalog(data_dir=data_dir or default_data_dir())
        except DemoDataError as exc:
            raise CommandError(str(exc)) from exc
        if result.already_loaded:
            self.stdout.write(f"Demo catalog already loaded ({result.total}); nothing created.")
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Loaded the demo catalog: created {result.created}.")
            )
