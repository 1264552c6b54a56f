import pytest

from storefront.catalog.models import Category, Product
from storefront.catalog.tests.factories import CategoryFactory, StockedProductFactory
from storefront.catalog.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

LIST_URL = "/api/categories/"


def url(category: Category | int) -> str:
    return f"/api/categories/{getattr(category, 'pk', category)}/"


def tree_state() -> list[tuple]:
    """Every category with its place in the tree, to prove a refused write changed nothing."""
    return list(
        Category.objects.order_by("path").values_list("id", "path", "depth", "numchild", "name")
    )


@pytest.fixture
def tree(db) -> dict[str, Category]:
    """Apparel > Headware > (Caps, Beanies); Groceries."""
    groceries = CategoryFactory(name="Groceries", slug="groceries")
    apparel = CategoryFactory(name="Apparel", slug="apparel")
    headware = CategoryFactory(name="Headware", slug="headware", parent=apparel)
    caps = CategoryFactory(name="Caps", slug="caps", parent=headware)
    beanies = CategoryFactory(name="Beanies", slug="beanies", parent=headware)
    return {
        "apparel": apparel,
        "headware": headware,
        "caps": caps,
        "beanies": beanies,
        "groceries": groceries,
    }


def names(nodes: list[dict]) -> list:
    """The tree as nested [name, [children...]] lists."""
    return [[node["name"], names(node["children"])] for node in nodes]


def test_category_list_is_the_whole_tree_sorted_by_name(api_client, tree):
    body = api_client.get(LIST_URL).json()

    assert names(body) == [
        ["Apparel", [["Headware", [["Beanies", []], ["Caps", []]]]]],
        ["Groceries", []],
    ]


def test_category_tree_nodes_have_id_slug_parent_and_description(api_client, tree):
    apparel = api_client.get(LIST_URL).json()[0]
    headware = apparel["children"][0]

    assert set(headware) == {"id", "slug", "name", "description", "parent", "children"}
    assert (apparel["parent"], headware["parent"]) == (None, tree["apparel"].pk)
    assert headware["slug"] == "headware"


def test_category_tree_costs_one_query(api_client, tree, django_assert_num_queries):
    with django_assert_num_queries(1):
        api_client.get(LIST_URL)


def test_category_detail_is_its_subtree_with_its_parent(api_client, tree):
    body = api_client.get(url(tree["headware"])).json()

    assert body["id"] == tree["headware"].pk
    assert body["parent"] == tree["apparel"].pk
    assert names(body["children"]) == [["Beanies", []], ["Caps", []]]
    assert body["children"][0]["parent"] == tree["headware"].pk


def test_unknown_category_is_404(api_client, staff_client):
    assert_error(api_client.get(url(999999)), 404, "not_found")
    assert_error(staff_client.patch(url(999999), {"name": "X"}, format="json"), 404, "not_found")
    assert_error(staff_client.delete(url(999999)), 404, "not_found")


def test_staff_create_a_root_category(staff_client, tree):
    response = staff_client.post(LIST_URL, {"name": "Books", "slug": "books"}, format="json")

    assert response.status_code == 201, response.content
    books = Category.objects.get(slug="books")
    assert books.is_root()
    assert response.json()["id"] == books.pk
    assert [node["name"] for node in staff_client.get(LIST_URL).json()] == [
        "Apparel",
        "Books",
        "Groceries",
    ]


def test_staff_create_a_child_category(staff_client, tree):
    response = staff_client.post(
        LIST_URL,
        {"name": "Bobbles", "slug": "bobbles", "parent": tree["beanies"].pk},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["parent"] == tree["beanies"].pk
    bobbles = Category.objects.get(slug="bobbles")
    assert Category.objects.get_parent(bobbles) == tree["beanies"]
    assert Category.objects.find_problems() == ([], [], [], [], [])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "Dup", "slug": "caps"}, "slug"),
        ({"name": "Bad", "slug": "not a slug"}, "slug"),
        ({"name": "", "slug": "empty"}, "name"),
        ({"name": "Orphan", "slug": "orphan", "parent": 999999}, "parent"),
        ({"name": "Orphan", "slug": "orphan", "parent": "abc"}, "parent"),
    ],
)
def test_invalid_categories_are_refused(staff_client, tree, data, field):
    before = tree_state()

    error = assert_error(staff_client.post(LIST_URL, data, format="json"), 400, "invalid")

    assert field in error["fields"]
    assert tree_state() == before


def test_staff_move_a_category_with_its_subtree(staff_client, tree):
    response = staff_client.patch(
        url(tree["headware"]), {"parent": tree["groceries"].pk}, format="json"
    )

    assert response.status_code == 200, response.content
    assert names(staff_client.get(LIST_URL).json()) == [
        ["Apparel", []],
        ["Groceries", [["Headware", [["Beanies", []], ["Caps", []]]]]],
    ]
    assert Category.objects.find_problems() == ([], [], [], [], [])


def test_staff_move_a_category_to_the_roots(staff_client, tree):
    response = staff_client.patch(url(tree["caps"]), {"parent": None}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["parent"] is None
    assert [node["name"] for node in staff_client.get(LIST_URL).json()] == [
        "Apparel",
        "Caps",
        "Groceries",
    ]


def test_renaming_a_category_keeps_siblings_sorted(staff_client, tree):
    response = staff_client.patch(url(tree["beanies"]), {"name": "Toques"}, format="json")

    assert response.status_code == 200, response.content
    headware = staff_client.get(url(tree["headware"])).json()
    assert [child["name"] for child in headware["children"]] == ["Caps", "Toques"]


def test_products_follow_their_category_when_it_moves(staff_client, api_client, tree):
    product = StockedProductFactory(category=tree["beanies"])

    staff_client.patch(url(tree["headware"]), {"parent": tree["groceries"].pk}, format="json")

    response = api_client.get("/api/products/", {"category": "groceries"})
    assert [item["id"] for item in response.json()["results"]] == [product.pk]


@pytest.mark.parametrize("target", ["headware", "beanies"])
def test_a_category_cannot_move_under_itself_or_its_descendants(staff_client, tree, target):
    before = tree_state()

    response = staff_client.patch(
        url(tree["headware"]), {"parent": tree[target].pk, "name": "Hats"}, format="json"
    )

    error = assert_error(response, 400, "invalid")
    assert "parent" in error["fields"]
    assert tree_state() == before


def test_staff_delete_an_empty_category_with_its_subtree(staff_client, tree):
    response = staff_client.delete(url(tree["headware"]))

    assert response.status_code == 204
    assert set(Category.objects.values_list("slug", flat=True)) == {"apparel", "groceries"}
    tree["apparel"].refresh_from_db()
    assert tree["apparel"].numchild == 0


@pytest.mark.parametrize("holder", ["headware", "beanies"])
def test_deleting_a_category_holding_products_is_refused(staff_client, tree, holder):
    product = StockedProductFactory(category=tree[holder])
    before = tree_state()

    error = assert_error(staff_client.delete(url(tree["headware"])), 409, "protected")

    assert error["details"]["related"] == ["products"]
    assert tree_state() == before
    assert Product.objects.filter(pk=product.pk).exists()


@pytest.mark.parametrize(
    ("client_name", "status", "code"),
    [("api_client", 401, "not_authenticated"), ("customer_client", 403, "permission_denied")],
)
def test_only_staff_write_categories(request, tree, client_name, status, code):
    client = request.getfixturevalue(client_name)
    before = tree_state()

    assert_error(client.post(LIST_URL, {"name": "X", "slug": "x"}, format="json"), status, code)
    assert_error(client.patch(url(tree["caps"]), {"name": "X"}, format="json"), status, code)
    assert_error(client.delete(url(tree["caps"])), status, code)
    assert tree_state() == before
