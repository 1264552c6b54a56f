from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from storefront.catalog.models import Category
from storefront.catalog.tests.factories import CategoryFactory, VariantFactory


def test_user_factory_user_can_log_in_with_default_password(db):
    user = UserFactory(email="Someone@Example.COM")
    user.refresh_from_db()
    assert user.email == "someone@example.com"
    assert user.check_password(DEFAULT_PASSWORD)


def test_category_factory_builds_a_tree(db):
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    assert Category.objects.get_parent(child) == root
    assert list(Category.objects.get_descendants(root)) == [child]


def test_variant_factory_creates_product_and_category(db):
    variant = VariantFactory()
    assert Category.objects.get_parent(variant.product.category) is None
