"""Wishlists routes, under /api/: the customer's at me/wishlist/, a guest's at
carts/{token}/wishlist/ (beside the guest cart's own routes)."""

from django.urls import path

from storefront.wishlists.api import views

urlpatterns = [
    path("me/wishlist/", views.CustomerWishlistView.as_view(), name="wishlist"),
    path("me/wishlist/items/", views.CustomerWishlistItemsView.as_view(), name="wishlist-items"),
    path(
        "me/wishlist/items/<int:item_id>/",
        views.CustomerWishlistItemView.as_view(),
        name="wishlist-item",
    ),
    path(
        "me/wishlist/items/<int:item_id>/move-to-cart/",
        views.CustomerWishlistItemMoveView.as_view(),
        name="wishlist-item-move-to-cart",
    ),
    path("carts/<uuid:token>/wishlist/", views.GuestWishlistView.as_view(), name="guest-wishlist"),
    path(
        "carts/<uuid:token>/wishlist/items/",
        views.GuestWishlistItemsView.as_view(),
        name="guest-wishlist-items",
    ),
    path(
        "carts/<uuid:token>/wishlist/items/<int:item_id>/",
        views.GuestWishlistItemView.as_view(),
        name="guest-wishlist-item",
    ),
    path(
        "carts/<uuid:token>/wishlist/items/<int:item_id>/move-to-cart/",
        views.GuestWishlistItemMoveView.as_view(),
        name="guest-wishlist-item-move-to-cart",
    ),
]
