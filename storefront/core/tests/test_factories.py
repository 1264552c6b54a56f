from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from storefront.catalog.tests.factories import CategoryFactory, VariantFactory


def test_user_factory_user_can_log_in_with_default_password(db):
    user = UserFactory(email="Someone@Example.COM")
    user.refresh_from_db()
    assert user.email == "someone@example.com"
    assert user.check_password(DEFAULT_PASSWORD)


def test_category_factory_builds_a_tree(db):
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    assert child.get_parent() == root
    assert list(root.get_descendants()) == [child]


def test_variant_factory_creates_product_and_category(db):
    variant = VariantFactory()
    assert variant.product.category.is_root()
