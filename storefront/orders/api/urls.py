from django.urls import path

from storefront.orders.api import views

urlpatterns = [
    path("orders/", views.OrderListCreateView.as_view(), name="order-list"),
    path("orders/<int:order_id>/", views.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<int:order_id>/cancel/", views.OrderCancelView.as_view(), name="order-cancel"),
    path("orders/<int:order_id>/status/", views.OrderStatusView.as_view(), name="order-status"),
    path("orders/<int:order_id>/pay/", views.OrderPayView.as_view(), name="order-pay"),
    path(
        "orders/<int:order_id>/payment/complete/",
        views.OrderPaymentCompleteView.as_view(),
        name="order-payment-complete",
    ),
]
