"""Pricing routes, under /api/: shipping-zones/ (staff; storefront/pricing/api/zones.py),
tax-rates/ (staff; storefront/pricing/api/taxes.py), membership-tiers/ (staff; read and
update only: storefront/pricing/api/tiers.py), promotions/ (staff;
storefront/pricing/api/promotions.py), vouchers/ (staff; storefront/pricing/api/vouchers.py),
checkout/quote/ (customer) and carts/{token}/quote/ (guest)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from storefront.pricing.api import promotions, taxes, tiers, views, vouchers, zones

router = SimpleRouter(use_regex_path=False)
router.register("shipping-zones", zones.ShippingZoneViewSet, basename="shipping-zone")
router.register("tax-rates", taxes.TaxRateViewSet, basename="tax-rate")
router.register("membership-tiers", tiers.MembershipTierViewSet, basename="membership-tier")
router.register("promotions", promotions.PromotionViewSet, basename="promotion")
router.register("vouchers", vouchers.VoucherViewSet, basename="voucher")

urlpatterns = [
    *router.urls,
    path("checkout/quote/", views.CustomerQuoteView.as_view(), name="checkout-quote"),
    path("carts/<uuid:token>/quote/", views.GuestQuoteView.as_view(), name="guest-cart-quote"),
]
