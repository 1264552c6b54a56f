"""What the tests of the pricing app's staff endpoints share: every verb of a list and
detail refused to anonymous visitors (401) and customers (403), changing nothing."""

from collections.abc import Callable

import pytest

from storefront.catalog.tests.helpers import assert_error

# Every verb the staff endpoints route, on the list ("list") or one row ("detail").
EVERY_VERB = pytest.mark.parametrize(
    ("verb", "path"),
    [
        ("get", "list"),
        ("post", "list"),
        ("get", "detail"),
        ("put", "detail"),
        ("patch", "detail"),
        ("delete", "detail"),
    ],
)


def assert_staff_only(
    api_client, customer_client, *, verb: str, url: str, body: dict, snapshot: Callable
) -> None:
    """`verb` `url` with the JSON `body` answers 401 not_authenticated to an anonymous
    client and 403 permission_denied to a customer, and `snapshot()` is the same after."""
    before = snapshot()

    assert_error(getattr(api_client, verb)(url, body, format="json"), 401, "not_authenticated")
    assert_error(getattr(customer_client, verb)(url, body, format="json"), 403, "permission_denied")

    assert snapshot() == before
