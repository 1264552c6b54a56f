"""Building blocks shared by every app's models."""

from django.db import models

# The largest id a BigAutoField (the project's DEFAULT_AUTO_FIELD) holds.
MAX_ID = 2**63 - 1


def is_valid_id(value: object) -> bool:
    """Whether `value` can be a row's id: an int (not a bool) from 1 to MAX_ID."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return is_int and 1 <= value <= MAX_ID


class TimeStampedModel(models.Model):
    """Abstract base: `created_at` and `updated_at`, set by the database layer on save."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def seed_prefetch_cache(instance: models.Model, **related: list[models.Model]) -> None:
    """Make `instance.<name>.all()` return the given objects without a query, as if they had
    been prefetched: for a service that has just created them and hands the instance to a
    serializer. Each keyword is a reverse relation's accessor name.

    Mirrors what Django's prefetch_related_objects() stores (a queryset whose result cache is
    filled); later filtering or writes through the relation query the database as usual.
    """
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, objects in related.items():
        queryset = getattr(instance, name).get_queryset()
        queryset._result_cache = list(objects)
        queryset._prefetch_done = True
        cache[name] = queryset
