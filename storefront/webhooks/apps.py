from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "storefront.webhooks"
    label = "webhooks"
    verbose_name = "Outgoing webhooks"
