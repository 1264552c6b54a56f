"""Product ratings: `rating_count`, `rating_sum` and the generated `rating_average` of the
product's approved reviews (storefront/reviews/, docs/reviews.md), with an index for
`ordering=-rating`.

The reviews' own triggers (reviews migration 0001) move `rating_count` and `rating_sum`
by each statement's difference, from within a trigger. catalog_product_keep_rating, BEFORE
INSERT OR UPDATE of each product row, keeps every other writer's hands off them: an
INSERT starts at 0 (no review can exist for a new product), and an UPDATE run by a client
statement (pg_trigger_depth() = 1: Django's save() of an instance read earlier, the admin,
an import, raw SQL) keeps the row's current values whatever it wrote, as
catalog_product_derive (0005) does for `min_price` and `in_stock`. An UPDATE from another
trigger (the reviews', or catalog_refresh_products, which writes neither column) passes
through.

Adding the stored generated column rewrites catalog_product once (a lock for the time it
takes to copy the table).
"""

import django.db.models.expressions
import django.db.models.functions.comparison
import django.db.models.functions.math
from django.db import migrations, models

CREATE = """
CREATE FUNCTION catalog_product_keep_rating() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.rating_count := 0;
        NEW.rating_sum := 0;
    ELSIF pg_trigger_depth() = 1 THEN
        NEW.rating_count := OLD.rating_count;
        NEW.rating_sum := OLD.rating_sum;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER catalog_product_keep_rating
    BEFORE INSERT OR UPDATE ON catalog_product
    FOR EACH ROW EXECUTE FUNCTION catalog_product_keep_rating();
"""

DROP = """
DROP TRIGGER catalog_product_keep_rating ON catalog_product;
DROP FUNCTION catalog_product_keep_rating();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0013_imports"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="rating_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="product",
            name="rating_sum",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="product",
            name="rating_average",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.math.Round(
                    models.ExpressionWrapper(
                        django.db.models.expressions.CombinedExpression(
                            django.db.models.functions.comparison.Cast(
                                "rating_sum", models.DecimalField(decimal_places=0, max_digits=20)
                            ),
                            "/",
                            django.db.models.functions.comparison.NullIf("rating_count", 0),
                        ),
                        output_field=models.DecimalField(),
                    ),
                    2,
                    output_field=models.DecimalField(decimal_places=2, max_digits=3),
                ),
                output_field=models.DecimalField(decimal_places=2, max_digits=3, null=True),
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                models.F("is_published"),
                models.OrderBy(models.F("rating_average"), descending=True, nulls_last=True),
                models.OrderBy(models.F("id"), descending=True),
                name="catalog_product_rating",
            ),
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
