"""Field formatters for serializers that build their JSON by hand (the cart and the order
representations): each formats a value exactly as the DRF field that the serializer declares
for it, so the hand-built output equals the declared one. (The catalog's product is built in
SQL to the same formats: storefront/catalog/documents.py.)"""

from rest_framework import serializers

# A unit price: DECIMAL(12, 2) in the store currency (variant price, order line unit price).
PRICE_FIELD = serializers.DecimalField(max_digits=12, decimal_places=2)
# A sum of lines: DECIMAL(14, 2) (line total, cart or order total, payment amount).
AMOUNT_FIELD = serializers.DecimalField(max_digits=14, decimal_places=2)
# A tax rate as a fraction: DECIMAL(7, 4), e.g. "0.2000" for 20 %.
TAX_RATE_FIELD = serializers.DecimalField(max_digits=7, decimal_places=4)
DATETIME_FIELD = serializers.DateTimeField()
