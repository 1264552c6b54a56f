"""Reviews, votes, and the triggers that keep each product's rating exact.

reviews_rate_products runs AFTER each statement on reviews_review (transition tables: an
INSERT, UPDATE or DELETE of any number of rows, by the services, the admin, a cascade from a
deleted product or customer, or raw SQL). It adds, per product, what the statement's new
rows bring to the approved reviews (+1 and the rating for each approved new row) and takes
away what its old rows did (-1 and the rating for each approved old row); products whose
count and sum do not change are left alone. The products concerned are locked FOR NO KEY
UPDATE in ascending id (the lock order of docs/checkout.md: a review, then its product),
then moved with `rating_count = rating_count + delta`, which reads the row as the last
committed writer left it: concurrent approvals of one product's reviews queue on its row
and each adds its own review once. Since every change of a review row is itself under that
row's lock, a review approved twice at once counts once (the second statement's old row is
already approved). TRUNCATE sets every rating back to none.

The UPDATE runs from within the trigger (pg_trigger_depth() = 2), which is what
catalog_product_keep_rating (catalog migration 0014) lets through.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


APPROVED = "approved"

CREATE = f"""
CREATE FUNCTION reviews_rate_products() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    counts bigint[];
    sums bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(product_id ORDER BY product_id), array_agg(n ORDER BY product_id),
               array_agg(s ORDER BY product_id)
        INTO ids, counts, sums
        FROM (SELECT product_id, count(*) AS n, sum(rating) AS s FROM new_rows
              WHERE status = '{APPROVED}' GROUP BY product_id) AS d;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(product_id ORDER BY product_id), array_agg(-n ORDER BY product_id),
               array_agg(-s ORDER BY product_id)
        INTO ids, counts, sums
        FROM (SELECT product_id, count(*) AS n, sum(rating) AS s FROM old_rows
              WHERE status = '{APPROVED}' GROUP BY product_id) AS d;
    ELSE
        SELECT array_agg(product_id ORDER BY product_id), array_agg(n ORDER BY product_id),
               array_agg(s ORDER BY product_id)
        INTO ids, counts, sums
        FROM (SELECT product_id, sum(n) AS n, sum(s) AS s
              FROM (SELECT product_id, 1 AS n, rating AS s FROM new_rows
                    WHERE status = '{APPROVED}'
                    UNION ALL
                    SELECT product_id, -1, -rating FROM old_rows
                    WHERE status = '{APPROVED}') AS changes
              GROUP BY product_id
              HAVING sum(n) <> 0 OR sum(s) <> 0) AS d;
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM catalog_product WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
    UPDATE catalog_product AS p
    SET rating_count = p.rating_count + d.n, rating_sum = p.rating_sum + d.s
    FROM unnest(ids, counts, sums) AS d (product_id, n, s)
    WHERE p.id = d.product_id;
    RETURN NULL;
END $$;

CREATE FUNCTION reviews_unrate_products() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_product SET rating_count = 0, rating_sum = 0 WHERE rating_count <> 0;
    RETURN NULL;
END $$;

CREATE TRIGGER reviews_rate_products_insert
    AFTER INSERT ON reviews_review
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reviews_rate_products();
CREATE TRIGGER reviews_rate_products_update
    AFTER UPDATE ON reviews_review
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reviews_rate_products();
CREATE TRIGGER reviews_rate_products_delete
    AFTER DELETE ON reviews_review
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reviews_rate_products();
CREATE TRIGGER reviews_unrate_products
    AFTER TRUNCATE ON reviews_review
    FOR EACH STATEMENT EXECUTE FUNCTION reviews_unrate_products();
"""

DROP = """
DROP TRIGGER reviews_unrate_products ON reviews_review;
DROP TRIGGER reviews_rate_products_delete ON reviews_review;
DROP TRIGGER reviews_rate_products_update ON reviews_review;
DROP TRIGGER reviews_rate_products_insert ON reviews_review;
DROP FUNCTION reviews_unrate_products();
DROP FUNCTION reviews_rate_products();
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("catalog", "0014_product_rating"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Review",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("rating", models.PositiveSmallIntegerField()),
                ("title", models.CharField(blank=True, max_length=200)),
                ("body", models.TextField(blank=True, max_length=5000)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("approved", "Approved"),
                            ("rejected", "Rejected"),
                        ],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("verified_purchase", models.BooleanField(default=False)),
                ("helpful_count", models.PositiveIntegerField(default=0)),
                ("moderated_at", models.DateTimeField(blank=True, null=True)),
                ("moderation_note", models.TextField(blank=True)),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reviews",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "moderated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reviews",
                        to="catalog.product",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="ReviewVote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="review_votes",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "review",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="votes",
                        to="reviews.review",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="review",
            index=models.Index(
                fields=["product", "status", "-created_at", "-id"], name="reviews_product_new"
            ),
        ),
        migrations.AddIndex(
            model_name="review",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["created_at"],
                name="reviews_pending",
            ),
        ),
        migrations.AddConstraint(
            model_name="review",
            constraint=models.UniqueConstraint(
                fields=("product", "customer"), name="reviews_one_per_customer"
            ),
        ),
        migrations.AddConstraint(
            model_name="review",
            constraint=models.CheckConstraint(
                condition=models.Q(("rating__gte", 1), ("rating__lte", 5)),
                name="reviews_rating_1_to_5",
            ),
        ),
        migrations.AddConstraint(
            model_name="reviewvote",
            constraint=models.UniqueConstraint(
                fields=("review", "customer"), name="reviews_one_vote"
            ),
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
