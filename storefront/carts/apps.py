from django.apps import AppConfig


class CartsConfig(AppConfig):
    name = "storefront.carts"
    label = "carts"
    verbose_name = "Carts"
