"""Wishlist endpoints: the customer's under /api/me/wishlist/, a guest's under
/api/carts/{token}/wishlist/ (the guest cart's token opens both, as for the cart itself).

Reads and adds answer with the current prices at the viewer's member prices (a guest: list
prices); moving an item to the cart answers with the cart. Errors use the shape of
docs/api.md; codes in docs/wishlists.md.
"""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.carts import services as carts
from storefront.carts.api.serializers import CartSerializer, GuestCartSerializer
from storefront.carts.exceptions import (
    CartChanged,
    CartLinesLimitExceeded,
    CartTotalLimitExceeded,
    InvalidQuantity,
    QuantityLimitExceeded,
    VariantUnavailable,
)
from storefront.carts.selectors import load_cart_contents
from storefront.catalog.exceptions import ProductNotFound
from storefront.core.api.filters import KnownQueryParameters
from storefront.core.api.parsers import JSONParser
from storefront.core.api.schema import raises
from storefront.pricing import quotes
from storefront.wishlists import selectors, services
from storefront.wishlists.api.serializers import (
    AddWishlistItemSerializer,
    GuestWishlistSerializer,
    MoveToCartSerializer,
    WishlistItemSerializer,
    WishlistSerializer,
)
from storefront.wishlists.exceptions import (
    OutOfStock,
    VariantNotFound,
    VariantRequired,
    WishlistLimitExceeded,
)


class WishlistViewMixin:
    """Names the view's wishlist and renders it. Subclasses say whose wishlist it is."""

    request: Request
    wishlist_serializer_class: type = WishlistSerializer
    cart_serializer_class: type = CartSerializer
    # JSON bodies only: `variant_id` may be null, which a form cannot say (it would send the
    # text "null").
    parser_classes = [JSONParser]

    def wishlist_owner(self) -> dict[str, Any]:
        """Keyword arguments naming the wishlist for services and selectors."""
        raise NotImplementedError

    def membership(self) -> str | None:
        """The membership whose prices the wishlist shows (None: list prices)."""
        raise NotImplementedError

    def wishlist_data(self) -> dict[str, Any]:
        items = selectors.wishlist_items(**self.wishlist_owner(), membership=self.membership())
        return {"items": items, "count": len(items), "currency": settings.STORE_CURRENCY}

    def item_response(self, item_id: int, status_code: int) -> Response:
        (item,) = selectors.wishlist_items(
            **self.wishlist_owner(), membership=self.membership(), item_id=item_id
        )
        data = WishlistItemSerializer(item, context={"request": self.request}).data
        return Response(data, status=status_code)


class CustomerWishlistMixin(WishlistViewMixin):
    """The authenticated customer's own wishlist."""

    permission_classes = [IsAuthenticated]

    def wishlist_owner(self) -> dict[str, Any]:
        return {"customer": self.request.user}

    def membership(self) -> str | None:
        return quotes.membership_of(self.request.user)


class GuestWishlistMixin(WishlistViewMixin):
    """The wishlist of the guest cart named by the URL's token; 404 for an unknown token
    (or a customer's cart's, as carts.services.get_guest_cart)."""

    permission_classes = [AllowAny]
    wishlist_serializer_class = GuestWishlistSerializer
    cart_serializer_class = GuestCartSerializer
    kwargs: dict

    def wishlist_owner(self) -> dict[str, Any]:
        if not hasattr(self, "_guest_cart"):
            self._guest_cart = carts.get_guest_cart(token=self.kwargs["token"])
        return {"cart": self._guest_cart}

    def membership(self) -> str | None:
        return None

    def wishlist_data(self) -> dict[str, Any]:
        return {"token": self.kwargs["token"], **super().wishlist_data()}


class WishlistDetailBase(WishlistViewMixin, APIView):
    # A list, whole (at most 200 items): it takes no query parameter but `format`.
    filter_backends = [KnownQueryParameters]

    def get(self, request: Request, **kwargs) -> Response:
        """The wishlist: {items, count, currency}, newest first, at current prices.

        400 `invalid` for a query parameter other than `format`.
        """
        KnownQueryParameters.check(request, self)
        data = self.wishlist_serializer_class(self.wishlist_data(), context={"request": request})
        return Response(data.data)


class WishlistItemsBase(WishlistViewMixin, APIView):
    @raises(ProductNotFound, VariantNotFound, WishlistLimitExceeded)
    def post(self, request: Request, **kwargs) -> Response:
        """Add {product_id, variant_id?}: 201 + the item; 200 + the same item if it is there.

        404 `not_found` for an unknown or unpublished product, or a variant that is not one
        of the product's; 400 `wishlist_limit_exceeded` if a new item would make more than
        200. Nothing changes on an error.
        """
        serializer = AddWishlistItemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item, created = services.add_to_wishlist(
            product_id=serializer.validated_data["product_id"],
            variant_id=serializer.validated_data.get("variant_id"),
            **self.wishlist_owner(),
        )
        return self.item_response(item.pk, status.HTTP_201_CREATED if created else 200)


class WishlistItemBase(WishlistViewMixin, APIView):
    def delete(self, request: Request, item_id: int, **kwargs) -> Response:
        """Remove an item. 204; 404 if the item is not on this wishlist."""
        services.remove_from_wishlist(item_id=item_id, **self.wishlist_owner())
        return Response(status=status.HTTP_204_NO_CONTENT)


class WishlistItemMoveBase(WishlistViewMixin, APIView):
    @raises(
        VariantRequired,
        VariantNotFound,
        VariantUnavailable,
        InvalidQuantity,
        QuantityLimitExceeded,
        CartLinesLimitExceeded,
        CartTotalLimitExceeded,
        OutOfStock,
        CartChanged,
    )
    def post(self, request: Request, item_id: int, **kwargs) -> Response:
        """Add the item to the cart {quantity?=1, variant_id?} and remove it from the
        wishlist, in one transaction. 200 + the cart.

        404 if the item is not on this wishlist, or `variant_id` is not a variant of its
        product; 400 `variant_required` for an item naming a product only without
        `variant_id`, `variant_unavailable` once its product is unpublished, and the cart's
        caps (`quantity_limit_exceeded`, `cart_lines_limit_exceeded`,
        `cart_total_limit_exceeded`); 409 `out_of_stock` if the stock does not cover the
        cart item's quantity. Nothing changes on an error.
        """
        serializer = MoveToCartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        added = services.move_to_cart(
            item_id=item_id,
            quantity=serializer.validated_data["quantity"],
            variant_id=serializer.validated_data.get("variant_id"),
            **self.wishlist_owner(),
        )
        load_cart_contents(added.cart, membership=self.membership())
        data = self.cart_serializer_class(added.cart, context={"request": request}).data
        return Response(data)


@extend_schema_view(get=extend_schema(responses=WishlistSerializer))
class CustomerWishlistView(CustomerWishlistMixin, WishlistDetailBase):
    pass


@extend_schema_view(
    post=extend_schema(
        request=AddWishlistItemSerializer,
        responses={200: WishlistItemSerializer, 201: WishlistItemSerializer},
    )
)
class CustomerWishlistItemsView(CustomerWishlistMixin, WishlistItemsBase):
    pass


@extend_schema_view(delete=extend_schema(responses={204: None}))
class CustomerWishlistItemView(CustomerWishlistMixin, WishlistItemBase):
    pass


@extend_schema_view(post=extend_schema(request=MoveToCartSerializer, responses=CartSerializer))
class CustomerWishlistItemMoveView(CustomerWishlistMixin, WishlistItemMoveBase):
    pass


@extend_schema_view(get=extend_schema(responses=GuestWishlistSerializer))
class GuestWishlistView(GuestWishlistMixin, WishlistDetailBase):
    pass


@extend_schema_view(
    post=extend_schema(
        request=AddWishlistItemSerializer,
        responses={200: WishlistItemSerializer, 201: WishlistItemSerializer},
    )
)
class GuestWishlistItemsView(GuestWishlistMixin, WishlistItemsBase):
    pass


@extend_schema_view(delete=extend_schema(responses={204: None}))
class GuestWishlistItemView(GuestWishlistMixin, WishlistItemBase):
    pass


@extend_schema_view(post=extend_schema(request=MoveToCartSerializer, responses=GuestCartSerializer))
class GuestWishlistItemMoveView(GuestWishlistMixin, WishlistItemMoveBase):
    pass
