"""Storefront-side set-up of the benchmark, run inside Storefront's virtualenv with its settings.

    python -m bench.storefront_setup PASSWORD EMAIL...     create the customers (idempotent)
    python -m bench.storefront_setup --invalidate-catalog  drop every cached catalog response

Users are saved one by one through the ORM (User.save, so whatever Storefront does on user
creation, such as creating the cart, runs), all with one precomputed password hash: hashing is
the slow part and is not what is measured.

The catalog is loaded with COPY, which bypasses the ORM and so the signals that invalidate
Storefront's response cache (storefront/catalog/cache.py): the bench invalidates it after the
load, before any server starts, and stops if the cache cannot be reached.
"""

import sys

import django


def ensure_customers(password: str, emails: list[str]) -> int:
    """Create the customers that do not exist yet; return how many were created."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    user_model = get_user_model()
    existing = set(user_model.objects.filter(email__in=emails).values_list("email", flat=True))
    hashed = make_password(password)
    created = 0
    for email in emails:
        if email not in existing:
            user_model(email=email, password=hashed, first_name="Bench").save()
            created += 1
    return created


def invalidate_catalog_cache() -> str:
    """Invalidate every cached catalog response; return the new catalog version.

    invalidate_catalog() logs and carries on when the cache is unreachable; here that must stop
    the bench (its cached responses could belong to the catalog loaded before), so the version
    is read back: an unreachable cache raises, an unchanged version is an error.
    """
    from django.core.cache import cache

    from storefront.catalog import cache as catalog_cache

    before = cache.get(catalog_cache.VERSION_KEY)
    catalog_cache.invalidate_catalog()
    after = cache.get(catalog_cache.VERSION_KEY)
    if after is None or after == before:
        raise RuntimeError("Storefront's catalog cache was not invalidated (cache unreachable?)")
    return after


if __name__ == "__main__":
    django.setup()
    if sys.argv[1:] == ["--invalidate-catalog"]:
        print(invalidate_catalog_cache())
    else:
        print(ensure_customers(sys.argv[1], sys.argv[2:]))
