from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "storefront.analytics"
    label = "analytics"
    verbose_name = "Analytics"
