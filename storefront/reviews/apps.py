from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "storefront.reviews"
    label = "reviews"
    verbose_name = "Product reviews and ratings"
