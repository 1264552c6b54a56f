from django.urls import include, path

from storefront.orders.api import exports, views

urlpatterns = [
    path("orders/", views.OrderListCreateView.as_view(), name="order-list"),
    # <int:order_id> never matches "export"; listed first all the same.
    path("orders/export/", exports.OrderExportView.as_view(), name="order-export"),
    path("orders/<int:order_id>/", views.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<int:order_id>/cancel/", views.OrderCancelView.as_view(), name="order-cancel"),
    path("orders/<int:order_id>/status/", views.OrderStatusView.as_view(), name="order-status"),
    path("orders/<int:order_id>/pay/", views.OrderPayView.as_view(), name="order-pay"),
    path("orders/<int:order_id>/refunds/", views.OrderRefundsView.as_view(), name="order-refunds"),
    path("", include("storefront.orders.api.return_urls")),
    path(
        "orders/<int:order_id>/payment/complete/",
        views.OrderPaymentCompleteView.as_view(),
        name="order-payment-complete",
    ),
    path("carts/<uuid:token>/checkout/", views.GuestCheckoutView.as_view(), name="guest-checkout"),
    path(
        "guest-orders/<str:access_token>/",
        views.GuestOrderView.as_view(),
        name="guest-order-detail",
    ),
    path(
        "guest-orders/<str:access_token>/cancel/",
        views.GuestOrderCancelView.as_view(),
        name="guest-order-cancel",
    ),
    path(
        "guest-orders/<str:access_token>/pay/",
        views.GuestOrderPayView.as_view(),
        name="guest-order-pay",
    ),
]
