"""Pricing routes, under /api/: shipping-zones/ (staff; storefront/pricing/api/zones.py),
tax-rates/ (staff; storefront/pricing/api/taxes.py), checkout/quote/ (customer) and
carts/{token}/quote/ (guest)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from storefront.pricing.api import taxes, views, zones

router = SimpleRouter(use_regex_path=False)
router.register("shipping-zones", zones.ShippingZoneViewSet, basename="shipping-zone")
router.register("tax-rates", taxes.TaxRateViewSet, basename="tax-rate")

urlpatterns = [
    *router.urls,
    path("checkout/quote/", views.CustomerQuoteView.as_view(), name="checkout-quote"),
    path("carts/<uuid:token>/quote/", views.GuestQuoteView.as_view(), name="guest-cart-quote"),
]
