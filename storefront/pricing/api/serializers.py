"""Quote inputs and the quote's shape. Amounts are decimal strings in `currency` (ISO 4217)."""

from typing import Any

from rest_framework import serializers

from storefront.orders.api.serializers import (
    AddressField,
    AppliedDiscountSerializer,
    resolve_address_ids,
    shipping_method_field,
    voucher_code_field,
)


class QuoteRequestSerializer(serializers.Serializer):
    """A customer's quote: {shipping_address (object, text or an address book id),
    shipping_method?, voucher_code?}. The validated address is a postal address dict or
    text."""

    shipping_address = AddressField()
    shipping_method = shipping_method_field()
    voucher_code = voucher_code_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return resolve_address_ids(attrs, ("shipping_address",), self.context["request"].user)


class GuestQuoteRequestSerializer(serializers.Serializer):
    """A guest's quote: {shipping_address (object or text), shipping_method?,
    voucher_code?, email?}. `email` lets the quote count a voucher's per-customer limit as
    checkout will (a guest is counted by email)."""

    shipping_address = AddressField(book=False)
    shipping_method = shipping_method_field()
    voucher_code = voucher_code_field()
    email = serializers.EmailField(required=False)


class QuoteLineSerializer(serializers.Serializer):
    item_id = serializers.IntegerField(help_text="The cart item.")
    variant_id = serializers.IntegerField()
    sku = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Units.")
    list_price = serializers.CharField(help_text="The variant's price, per unit.")
    unit_price = serializers.CharField(
        help_text="The price per unit for the customer's membership tier (the list price for "
        "guests), before promotions and vouchers."
    )
    discount_total = serializers.CharField(help_text="The line's promotion and voucher share.")
    tax_rate = serializers.CharField(help_text='A fraction with four places, e.g. "0.2000".')
    tax_total = serializers.CharField()
    line_total = serializers.CharField(
        help_text="unit_price x quantity, to the cent; the line is taxed on line_total - "
        "discount_total."
    )


class ShippingOfferSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    price = serializers.CharField(help_text="For this quote: 0.00 past a free-shipping threshold.")
    min_days = serializers.IntegerField()
    max_days = serializers.IntegerField()


class QuoteSerializer(serializers.Serializer):
    """What the cart costs (storefront/pricing/quotes.py; rules in docs/pricing.md):
    total = subtotal - discount_total + shipping.price (+ tax_total when prices are net)."""

    lines = QuoteLineSerializer(many=True)
    subtotal = serializers.CharField()
    discount_total = serializers.CharField()
    shipping = ShippingOfferSerializer(
        allow_null=True,
        help_text="The method charged; null when the store charges no shipping or no method "
        "ships to the address.",
    )
    shipping_methods = ShippingOfferSerializer(many=True, help_text="Every method offered.")
    tax_total = serializers.CharField()
    total = serializers.CharField()
    currency = serializers.CharField(help_text="ISO 4217.")
    prices_include_tax = serializers.BooleanField()
    applied = AppliedDiscountSerializer(
        many=True,
        help_text="The member discount, promotions and voucher applied, in that order.",
    )
