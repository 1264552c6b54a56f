from django.urls import path

from storefront.carts.api import views

urlpatterns = [
    path("cart/", views.CustomerCartView.as_view(), name="cart"),
    path("cart/items/", views.CustomerCartItemsView.as_view(), name="cart-items"),
    path("cart/items/<int:item_id>/", views.CustomerCartItemView.as_view(), name="cart-item"),
    path("cart/merge/", views.CartMergeView.as_view(), name="cart-merge"),
    path("carts/", views.GuestCartCreateView.as_view(), name="guest-carts"),
    path("carts/<uuid:token>/", views.GuestCartView.as_view(), name="guest-cart"),
    path("carts/<uuid:token>/items/", views.GuestCartItemsView.as_view(), name="guest-cart-items"),
    path(
        "carts/<uuid:token>/items/<int:item_id>/",
        views.GuestCartItemView.as_view(),
        name="guest-cart-item",
    ),
]
