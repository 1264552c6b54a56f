"""The generated catalog: shape and determinism (no database)."""

from collections import Counter

from bench.catalog import Catalog, tree_step


def test_category_tree_has_three_levels_and_about_two_hundred_nodes():
    catalog = Catalog(products=1)

    depths = Counter(row.depth for row in catalog.categories)

    assert depths == {1: 6, 2: 30, 3: 180}


def test_category_numchild_matches_the_children_generated():
    catalog = Catalog(products=1)

    children = Counter(row.parent_id for row in catalog.categories if row.parent_id)

    assert all(row.numchild == children.get(row.id, 0) for row in catalog.categories)


def test_category_paths_follow_treebeard_steps_and_sibling_name_order():
    catalog = Catalog(products=1)
    by_id = {row.id: row for row in catalog.categories}

    for row in catalog.categories:
        assert len(row.path) == 4 * row.depth
        if row.parent_id:
            assert row.path.startswith(by_id[row.parent_id].path)
    siblings = [row for row in catalog.categories if row.depth == 2 and row.parent_id == 1]
    assert [row.name for row in siblings] == sorted(row.name for row in siblings)
    assert [row.path[-4:] for row in siblings] == [tree_step(i) for i in range(1, 6)]


def test_tree_step_encodes_positions_in_base_36():
    assert [tree_step(1), tree_step(35), tree_step(36)] == ["0001", "000Z", "0010"]


def test_products_have_one_to_five_variants_with_dense_ids():
    products = list(Catalog(products=500).products_iter())

    variant_ids = [v.id for p in products for v in p.variants]
    assert {len(p.variants) for p in products} == {1, 2, 3, 4, 5}
    assert variant_ids == list(range(1, len(variant_ids) + 1))
    assert all(1 <= len(p.images) <= 3 for p in products)


def test_products_are_placed_in_leaf_categories_only():
    catalog = Catalog(products=300)
    leaves = set(catalog.leaf_ids)

    assert all(p.category_id in leaves for p in catalog.products_iter())


def test_the_same_seed_generates_the_same_catalog_and_another_seed_differs():
    first = [(p.name, p.variants) for p in Catalog(products=50, seed=7).products_iter()]
    again = [(p.name, p.variants) for p in Catalog(products=50, seed=7).products_iter()]
    other = [(p.name, p.variants) for p in Catalog(products=50, seed=8).products_iter()]

    assert first == again
    assert first != other


def test_slugs_are_unique():
    slugs = [p.slug for p in Catalog(products=2000).products_iter()]

    assert len(set(slugs)) == len(slugs)
