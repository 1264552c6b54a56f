"""A deterministic, streamed benchmark catalog: the same rows for every system under test.

Nothing here touches a database. `Catalog(products=N, seed=S)` describes a store of N products:
a 3-level category tree (6 roots x 5 x 6 = 216 categories, treebeard materialized paths built
here), 12 collections, 60 tags, and for each product 1-5 variants (SKUs) and 1-3 image records.
Every product is derived from its id alone through a 64-bit integer hash, so a loader can stream
products one by one in constant memory and two loaders (Storefront, Oscar, the flat floor table)
produce the same products, prices and stock.

Units: prices are integer cents of the store currency (USD); stock is a count of units.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEFAULT_SEED = 20261121
MASK64 = (1 << 64) - 1
# treebeard's MP_Node defaults (steplen 4, base 36): the loaders build paths themselves.
TREE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
TREE_STEPLEN = 4
# Products were "created" one every 61 seconds up to this instant: newest = highest id.
CATALOG_EPOCH = datetime(2026, 11, 1, tzinfo=UTC)

ROOTS = {
    "Apparel": ["Tops", "Bottoms", "Outerwear", "Knitwear", "Underwear"],
    "Footwear": ["Sneakers", "Boots", "Sandals", "Formal Shoes", "Slippers"],
    "Home": ["Kitchen", "Bedding", "Bath", "Decor", "Lighting"],
    "Electronics": ["Audio", "Cameras", "Computers", "Phones", "Wearables"],
    "Outdoors": ["Camping", "Cycling", "Climbing", "Fishing", "Running"],
    "Grocery": ["Coffee", "Tea", "Snacks", "Pantry", "Drinks"],
}
LEAVES = ["Basics", "Premium", "Kids", "Eco", "Sale", "Limited"]

# fmt: off
ADJECTIVES = [
    "classic", "modern", "vintage", "rugged", "slim", "relaxed", "lightweight", "heavy",
    "soft", "warm", "cool", "bright", "minimal", "bold", "urban", "coastal", "alpine",
    "tropical", "everyday", "premium", "essential", "compact", "handmade", "organic",
    "recycled", "waterproof", "breathable", "insulated", "durable", "elegant", "casual",
    "sporty",
]
MATERIALS = [
    "cotton", "wool", "linen", "denim", "leather", "suede", "canvas", "silk", "cashmere",
    "bamboo", "hemp", "nylon", "polyester", "fleece", "oak", "walnut", "steel", "ceramic",
    "glass", "copper",
]
NOUNS = [
    "shirt", "tee", "hoodie", "sweater", "jacket", "coat", "parka", "vest", "jeans", "chinos",
    "shorts", "skirt", "dress", "sneaker", "boot", "sandal", "loafer", "slipper", "sock",
    "scarf", "beanie", "cap", "glove", "backpack", "tote", "wallet", "belt", "mug", "bowl",
    "lamp", "blanket", "pillow", "towel", "speaker", "headphones", "camera", "tent", "bottle",
    "kettle", "grinder", "bar",
]
COLOURS = [
    "black", "white", "navy", "olive", "sand", "grey", "red", "blue", "green", "ochre",
]
# fmt: on
SIZES = ["XS", "S", "M", "L", "XL"]
COLLECTIONS = [
    "Summer Picks",
    "Winter Warmers",
    "Best Sellers",
    "New Arrivals",
    "Staff Favourites",
    "Gift Ideas",
    "Back to School",
    "Weekend Trips",
    "Home Office",
    "Outdoor Living",
    "Eco Choices",
    "Clearance",
]
TAGS = [f"{word}" for word in MATERIALS] + [f"{word}" for word in ADJECTIVES[:40]]


def mix64(value: int) -> int:
    """SplitMix64 finalizer: a well-spread 64-bit hash of an integer."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def tree_step(position: int) -> str:
    """The treebeard path step of the `position`-th child (1-based): 1 -> "0001"."""
    digits = ""
    while position:
        position, rest = divmod(position, len(TREE_ALPHABET))
        digits = TREE_ALPHABET[rest] + digits
    return digits.rjust(TREE_STEPLEN, "0")


def slugify(text: str) -> str:
    return "-".join(text.lower().replace("&", "and").split())


@dataclass(frozen=True, slots=True)
class CategoryRow:
    id: int
    path: str
    depth: int
    numchild: int
    name: str
    slug: str
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class VariantRow:
    id: int
    product_id: int
    sku: str
    name: str
    price_cents: int
    stock: int
    size: str
    colour: str


@dataclass(frozen=True, slots=True)
class ImageRow:
    id: int
    product_id: int
    path: str
    alt: str
    sort_order: int


@dataclass(frozen=True, slots=True)
class ProductRow:
    id: int
    name: str
    slug: str
    description: str
    category_id: int
    is_published: bool
    created_at: datetime
    variants: tuple[VariantRow, ...]
    images: tuple[ImageRow, ...]
    tag_ids: tuple[int, ...]
    collection_ids: tuple[int, ...]

    @property
    def min_price_cents(self) -> int:
        return min(variant.price_cents for variant in self.variants)

    @property
    def total_stock(self) -> int:
        return sum(variant.stock for variant in self.variants)


def cents(amount: int) -> str:
    """Integer cents as a decimal string with two places: 1999 -> "19.99"."""
    return f"{amount // 100}.{amount % 100:02d}"


class Catalog:
    """The benchmark catalog of `products` products; iterate it with `products_iter()`.

    Ids are dense and start at 1: products 1..N; variants and images numbered in product order.
    """

    def __init__(self, *, products: int, seed: int = DEFAULT_SEED) -> None:
        if products < 1:
            raise ValueError("A catalog needs at least one product.")
        self.products = products
        self.seed = seed
        self.categories = self._build_categories()
        self.leaf_ids = [row.id for row in self.categories if row.depth == 3]
        self.collections = [(i, name, slugify(name)) for i, name in enumerate(COLLECTIONS, 1)]
        self.tags = [(i, name, slugify(name)) for i, name in enumerate(TAGS, 1)]

    def _build_categories(self) -> list[CategoryRow]:
        """Roots, children and grandchildren in tree (path) order, siblings sorted by name.

        Sorted siblings keep the tree valid for Category.node_order_by = ["name"].
        """
        rows: list[CategoryRow] = []
        next_id = 1
        for root_pos, root in enumerate(sorted(ROOTS), 1):
            root_path = tree_step(root_pos)
            root_id = next_id
            next_id += 1
            children = sorted(ROOTS[root])
            rows.append(
                CategoryRow(root_id, root_path, 1, len(children), root, slugify(root), None)
            )
            for child_pos, child in enumerate(children, 1):
                child_name = f"{root} {child}"
                child_path = root_path + tree_step(child_pos)
                child_id = next_id
                next_id += 1
                leaves = sorted(f"{child} {leaf}" for leaf in LEAVES)
                rows.append(
                    CategoryRow(
                        child_id,
                        child_path,
                        2,
                        len(leaves),
                        child_name,
                        slugify(child_name),
                        root_id,
                    )
                )
                for leaf_pos, leaf in enumerate(leaves, 1):
                    rows.append(
                        CategoryRow(
                            next_id,
                            child_path + tree_step(leaf_pos),
                            3,
                            0,
                            leaf,
                            slugify(f"{root} {leaf}"),
                            child_id,
                        )
                    )
                    next_id += 1
        return rows

    def category_by_slug(self, slug: str) -> CategoryRow:
        return next(row for row in self.categories if row.slug == slug)

    def products_iter(self, start: int = 1) -> Iterator[ProductRow]:
        """Yield every product from id 1, with its variants and images, in constant memory."""
        variant_id = 0
        image_id = 0
        leaf_count = len(self.leaf_ids)
        seed = self.seed
        for pid in range(start, self.products + 1):
            h = mix64(seed ^ (pid * 0x2545F4914F6CDD1D & MASK64))
            g = mix64(h)
            adjective = ADJECTIVES[h % len(ADJECTIVES)]
            material = MATERIALS[(h >> 8) % len(MATERIALS)]
            noun = NOUNS[(h >> 16) % len(NOUNS)]
            name = f"{adjective.capitalize()} {material.capitalize()} {noun.capitalize()}"
            article = "An" if adjective[0] in "aeiou" else "A"
            description = (
                f"{article} {adjective} {noun} made of {material}. "
                f"{ADJECTIVES[(g >> 8) % len(ADJECTIVES)].capitalize()} design, "
                f"{ADJECTIVES[(g >> 16) % len(ADJECTIVES)]} finish, "
                f"built for {MATERIALS[(g >> 24) % len(MATERIALS)]} lovers."
            )
            variant_count = 1 + (h >> 24) % 5
            image_count = 1 + (h >> 28) % 3
            base_price = 499 + ((h >> 32) % 400) * 100 + 99 * ((h >> 40) & 1)
            colour = COLOURS[(g >> 32) % len(COLOURS)]
            variants = []
            for k in range(variant_count):
                variant_id += 1
                v = mix64(g ^ (k + 1))
                # ~8% of variants are out of stock; the rest hold 1..200 units.
                stock = 0 if v % 100 < 8 else 1 + (v >> 8) % 200
                size = SIZES[k]
                variants.append(
                    VariantRow(
                        variant_id,
                        pid,
                        f"BN-{pid:07d}-{k + 1}",
                        f"{size} / {colour}",
                        base_price + k * 200,
                        stock,
                        size,
                        colour,
                    )
                )
            images = []
            for k in range(image_count):
                image_id += 1
                images.append(ImageRow(image_id, pid, f"products/bench/{pid}-{k + 1}.jpg", name, k))
            tag_count = (g >> 40) % 4
            tag_ids = tuple(
                sorted({1 + (g >> (44 + 5 * t)) % len(self.tags) for t in range(tag_count)})
            )
            collection_ids = (1 + (g >> 60) % len(self.collections),) if (h >> 48) % 5 == 0 else ()
            yield ProductRow(
                id=pid,
                name=name,
                slug=f"{slugify(name)}-{pid}",
                description=description,
                category_id=self.leaf_ids[(h >> 52) % leaf_count],
                is_published=(h >> 56) % 50 != 0,
                created_at=CATALOG_EPOCH - timedelta(seconds=61 * (self.products - pid)),
                variants=tuple(variants),
                images=tuple(images),
                tag_ids=tag_ids,
                collection_ids=collection_ids,
            )

    def search_terms(self) -> list[str]:
        """Queries the search scenario draws from: single words and two-word phrases."""
        terms = [noun for noun in NOUNS[:20]] + [
            f"{m} {n}" for m, n in zip(MATERIALS, NOUNS, strict=False)
        ]
        return terms
