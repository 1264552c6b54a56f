"""Cart endpoints: the customer's cart under /api/cart/, guest carts under /api/carts/{token}/.

Every mutation answers with the whole cart at current prices (the GET shape), except DELETE
of an item, which answers 204. A customer's cart shows their member prices (`unit_price`,
`line_total`, `total`; `list_price` beside), a guest cart list prices. Errors use the shape
of docs/api.md; codes in docs/checkout.md.
"""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.carts import services
from storefront.carts.api.serializers import (
    AddCartItemSerializer,
    CartSerializer,
    GuestCartSerializer,
    MergeCartSerializer,
    UpdateCartItemSerializer,
)
from storefront.carts.exceptions import (
    CartChanged,
    CartLinesLimitExceeded,
    CartNotFound,
    CartTotalLimitExceeded,
    InvalidQuantity,
    QuantityLimitExceeded,
    VariantUnavailable,
)
from storefront.carts.models import Cart
from storefront.carts.selectors import load_cart_contents
from storefront.core.api.schema import raises
from storefront.core.api.throttling import ClientAddressThrottle
from storefront.pricing import quotes


class CartViewMixin:
    """Finds the view's cart and renders it. Subclasses say whose cart it is."""

    request: Request
    cart_serializer_class: type[CartSerializer] = CartSerializer

    def get_cart(self) -> Cart:
        raise NotImplementedError

    def cart_owner(self) -> dict[str, Any]:
        """Keyword arguments naming the cart for services.add_to_cart, without a query."""
        raise NotImplementedError

    def cart_membership(self) -> str | None:
        """The membership whose prices the cart shows: its customer's (None: a guest cart,
        at list prices)."""
        raise NotImplementedError

    def cart_response(self, cart: Cart, status_code: int = status.HTTP_200_OK) -> Response:
        load_cart_contents(cart, membership=self.cart_membership())
        serializer = self.cart_serializer_class(cart, context={"request": self.request})
        return Response(serializer.data, status=status_code)


class CustomerCartMixin(CartViewMixin):
    """The authenticated customer's own cart."""

    permission_classes = [IsAuthenticated]

    def get_cart(self) -> Cart:
        return services.get_or_create_customer_cart(customer=self.request.user)

    def cart_owner(self) -> dict[str, Any]:
        return {"customer": self.request.user}

    def cart_membership(self) -> str | None:
        return quotes.membership_of(self.request.user)


class GuestCartMixin(CartViewMixin):
    """The guest cart named by the URL's token; 404 for an unknown token."""

    permission_classes = [AllowAny]
    cart_serializer_class = GuestCartSerializer
    kwargs: dict

    def get_cart(self) -> Cart:
        return services.get_guest_cart(token=self.kwargs["token"])

    def cart_owner(self) -> dict[str, Any]:
        return {"token": self.kwargs["token"]}

    def cart_membership(self) -> str | None:
        return None


class CartDetailBase(CartViewMixin, APIView):
    def get(self, request: Request, **kwargs) -> Response:
        """The cart: {id, items, total, currency}, at current prices."""
        return self.cart_response(self.get_cart())


class CartItemsBase(CartViewMixin, APIView):
    @raises(
        InvalidQuantity,
        QuantityLimitExceeded,
        CartLinesLimitExceeded,
        CartTotalLimitExceeded,
        CartChanged,
    )
    def post(self, request: Request, **kwargs) -> Response:
        """Add {variant_id, quantity=1}; adds up with the same variant's item. 201 + cart.

        400 `invalid` (fields.variant_id) for an unknown or unpublished variant, or a quantity
        outside 1..1000; 400 `quantity_limit_exceeded` if the item would exceed 1000 units,
        `cart_lines_limit_exceeded` if a new item would make more than 100,
        `cart_total_limit_exceeded` if the cart's total would pass 999,999,999,999.99;
        404 for an unknown guest cart.
        """
        serializer = AddCartItemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        variant_id = serializer.validated_data["variant_id"]
        try:
            item = services.add_to_cart(
                variant_id=variant_id,
                quantity=serializer.validated_data["quantity"],
                **self.cart_owner(),
            )
        except VariantUnavailable as error:
            # Reported on the field, in the words of an unknown id (docs/checkout.md).
            field = serializer.fields["variant_id"]
            message = field.error_messages["does_not_exist"].format(pk_value=variant_id)
            raise ValidationError({"variant_id": [message]}, code="does_not_exist") from error
        return self.cart_response(item.cart, status.HTTP_201_CREATED)


class CartItemBase(CartViewMixin, APIView):
    # The PATCH body is validated whole: `quantity` is required (core/api/schema.py).
    partial_patch = False

    @raises(InvalidQuantity, CartTotalLimitExceeded, CartChanged)
    def patch(self, request: Request, item_id: int, **kwargs) -> Response:
        """Set an item's {quantity} (1..1000). 200 + cart; 404 if the item is not in this cart.

        400 `cart_total_limit_exceeded` if raising it would take the cart's total past
        999,999,999,999.99; lowering is always allowed.
        """
        cart = self.get_cart()
        serializer = UpdateCartItemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.update_cart_item(
            cart=cart, item_id=item_id, quantity=serializer.validated_data["quantity"]
        )
        return self.cart_response(cart)

    def delete(self, request: Request, item_id: int, **kwargs) -> Response:
        """Remove an item. 204; 404 if the item is not in this cart."""
        services.remove_cart_item(cart=self.get_cart(), item_id=item_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(get=extend_schema(responses=CartSerializer))
class CustomerCartView(CustomerCartMixin, CartDetailBase):
    pass


@extend_schema_view(
    post=extend_schema(request=AddCartItemSerializer, responses={201: CartSerializer})
)
class CustomerCartItemsView(CustomerCartMixin, CartItemsBase):
    pass


@extend_schema_view(
    patch=extend_schema(request=UpdateCartItemSerializer, responses=CartSerializer),
    delete=extend_schema(responses={204: None}),
)
class CustomerCartItemView(CustomerCartMixin, CartItemBase):
    pass


class CartMergeView(CustomerCartMixin, APIView):
    @extend_schema(request=MergeCartSerializer, responses=CartSerializer)
    @raises(CartNotFound, CartLinesLimitExceeded, CartTotalLimitExceeded)
    def post(self, request: Request) -> Response:
        """Move the guest cart {token}'s items into the customer's cart, and its wishlist
        into the customer's wishlist; delete the guest cart.

        Quantities of the same variant add up, capped at 1000. 200 + the customer's cart;
        404 for an unknown guest token; 400 `cart_lines_limit_exceeded` or
        `cart_total_limit_exceeded` if the merged cart would pass a cap (nothing moves).
        """
        serializer = MergeCartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cart = services.merge_carts(
            customer=request.user, guest_token=serializer.validated_data["token"]
        )
        return self.cart_response(cart)


class GuestCartCreateView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ClientAddressThrottle]
    throttle_scope = "guest_cart"

    @extend_schema(request=None, responses={201: GuestCartSerializer})
    def post(self, request: Request) -> Response:
        """Create an empty guest cart. 201 + {id, token, items, total, currency}.

        Keep the token: it is the only key to the cart (/api/carts/{token}/...). 429
        `throttled` beyond the `guest_cart` rate per client address (THROTTLE_RATE_GUEST_CART).
        """
        cart = services.create_guest_cart()
        load_cart_contents(cart)
        data = GuestCartSerializer(cart, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(responses=GuestCartSerializer))
class GuestCartView(GuestCartMixin, CartDetailBase):
    pass


@extend_schema_view(
    post=extend_schema(request=AddCartItemSerializer, responses={201: GuestCartSerializer})
)
class GuestCartItemsView(GuestCartMixin, CartItemsBase):
    pass


@extend_schema_view(
    patch=extend_schema(request=UpdateCartItemSerializer, responses=GuestCartSerializer),
    delete=extend_schema(responses={204: None}),
)
class GuestCartItemView(GuestCartMixin, CartItemBase):
    pass
