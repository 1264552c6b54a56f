from django.apps import AppConfig


class WishlistsConfig(AppConfig):
    name = "storefront.wishlists"
    label = "wishlists"
    verbose_name = "Wishlists"
