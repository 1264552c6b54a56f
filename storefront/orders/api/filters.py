"""Order list filters: ?status=&payment_status=&placed_after=&placed_before=&customer_email=
&email=&guest=."""

import django_filters

from storefront.core.api.filters import StrictBooleanFilter
from storefront.orders.models import Order


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)
    payment_status = django_filters.ChoiceFilter(choices=Order.PaymentStatus.choices)
    # ?placed_after=YYYY-MM-DD&placed_before=YYYY-MM-DD, both days included (store time zone).
    placed = django_filters.DateFromToRangeFilter(field_name="placed_at")
    customer_email = django_filters.CharFilter(field_name="customer__email", lookup_expr="iexact")
    # The email given at checkout: finds guest orders too.
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    # ?guest=true: orders placed from a guest cart that no customer has claimed; false: the others.
    guest = StrictBooleanFilter(field_name="customer", lookup_expr="isnull")

    class Meta:
        model = Order
        fields = ["status", "payment_status", "placed", "customer_email", "email", "guest"]
