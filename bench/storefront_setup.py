"""Create the benchmark's Storefront customers (idempotent): python -m bench.storefront_setup
PASSWORD EMAIL...

Runs inside Storefront's virtualenv with its settings. Users are saved one by one through the
ORM (User.save, so whatever Storefront does on user creation, such as creating the cart, runs),
all with one precomputed password hash: hashing is the slow part and is not what is measured.
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


if __name__ == "__main__":
    django.setup()
    print(ensure_customers(sys.argv[1], sys.argv[2:]))
