"""Returns: /api/orders/{id}/returns/ (storefront/orders/api/returns.py)."""

from django.urls import path

from storefront.orders.api import returns

urlpatterns = [
    path(
        "orders/<int:order_id>/returns/",
        returns.OrderReturnsView.as_view(),
        name="order-returns",
    ),
    path(
        "orders/<int:order_id>/returns/<int:return_id>/",
        returns.OrderReturnDetailView.as_view(),
        name="order-return-detail",
    ),
    path(
        "orders/<int:order_id>/returns/<int:return_id>/status/",
        returns.OrderReturnStatusView.as_view(),
        name="order-return-status",
    ),
]
