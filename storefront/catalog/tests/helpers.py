"""Small helpers shared by the catalog API tests."""

LIST_URL = "/api/products/"


def detail_url(product_id: int) -> str:
    return f"/api/products/{product_id}/"


def ids(response) -> list[int]:
    """The ids of a paginated list response, in order."""
    return [item["id"] for item in response.json()["results"]]


def assert_error(response, status: int, code: str) -> dict:
    """Assert `response` is an error in the shape of docs/api.md; return its `error` object."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["status"] == status
    assert error["code"] == code
    assert error["message"]
    return error
