from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "storefront.pricing"
    label = "pricing"
    verbose_name = "Pricing"
