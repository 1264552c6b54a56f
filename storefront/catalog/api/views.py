"""Catalog endpoints: products (with images), the category tree, collections, tags.

Reads are public; writes are for staff (401 anonymous, 403 customers). Customers and anonymous
visitors only ever see published products. Errors: the one shape of docs/api.md; the
endpoints and their errors are described in docs/catalog.md.
"""

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from storefront.catalog import documents, selectors, services
from storefront.catalog.api.caching import cached_read
from storefront.catalog.api.filters import ProductFilter, ProductFilterBackend
from storefront.catalog.api.pagination import ProductPagination
from storefront.catalog.api.permissions import IsStaffOrReadOnly
from storefront.catalog.api.serializers import (
    CategoryTreeSerializer,
    CategoryWriteSerializer,
    CollectionSerializer,
    ImageUploadSerializer,
    ProductSerializer,
    ProductWriteSerializer,
    TagSerializer,
    UploadedImageSerializer,
)
from storefront.catalog.exceptions import CategoryHasProducts, ProductNotFound
from storefront.catalog.models import Category, Collection, Product, Tag
from storefront.core.api.filters import KnownQueryParameters
from storefront.core.api.renderers import RawJSON, RawJSONList
from storefront.core.api.schema import raises
from storefront.core.exceptions import NotFound
from storefront.core.models import is_valid_id
from storefront.pricing import quotes


class NotFoundInErrorShapeMixin:
    """get_object() raising the domain NotFound, whose message names what was not found
    ("No such tag."), rather than Django's Http404 (which answers a bare "Not found.")."""

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            raise NotFound(f"No such {self.queryset.model._meta.verbose_name}.") from None


NO_CONTENT = OpenApiResponse(description="Deleted.")


@extend_schema_view(
    list=extend_schema(
        summary="List products",
        description="Paginated (`page`, `page_size`: 24 by default, at most 100). Customers "
        "and anonymous visitors see published products only; staff see all.",
    ),
    retrieve=extend_schema(summary="Get a product"),
    create=extend_schema(
        summary="Create a product (staff)",
        request=ProductWriteSerializer,
        responses={201: ProductSerializer},
    ),
    update=extend_schema(
        summary="Replace a product (staff)",
        request=ProductWriteSerializer,
        responses={200: ProductSerializer},
    ),
    partial_update=extend_schema(
        summary="Update a product (staff)",
        request=ProductWriteSerializer,
        responses={200: ProductSerializer},
    ),
    destroy=extend_schema(summary="Delete a product (staff)", responses={204: NO_CONTENT}),
)
class ProductViewSet(viewsets.ModelViewSet):
    """Products with their variants (SKUs), images, category, collections and tags.

    Prices are decimal strings in the store currency (`currency`, ISO 4217): `price` the
    viewer's (the member price at their membership's tier; list prices for anonymous
    visitors), `list_price` the undiscounted one. List and detail answers for customers and
    visitors are cached whole, apart for each membership, and invalidated by any change they
    show (api/caching.py).
    """

    permission_classes = [IsStaffOrReadOnly]
    serializer_class = ProductSerializer
    filter_backends = [KnownQueryParameters, ProductFilterBackend]
    filterset_class = ProductFilter
    pagination_class = ProductPagination
    lookup_value_converter = "int"

    def get_queryset(self):
        return selectors.visible_products(user=self.request.user)

    def get_serializer_class(self):
        # By method rather than action, so OPTIONS and the browsable API describe the body
        # a write takes.
        if self.request is not None and self.request.method in ("POST", "PUT", "PATCH"):
            return ProductWriteSerializer
        return ProductSerializer

    def _product(self) -> Product:
        return selectors.product_detail(user=self.request.user, product_id=self.kwargs["pk"])

    def _documents(self, product_ids: list[int]) -> RawJSONList:
        # The shape ProductSerializer declares, written by PostgreSQL (catalog/documents.py)
        # and sent as it is (core/api/renderers.py), at the viewer's prices.
        return RawJSONList(
            documents.product_json(
                product_ids,
                request=self.request,
                published_only=not selectors.can_see_unpublished(self.request.user),
                membership=quotes.membership_of(self.request.user),
            )
        )

    def _document(self, product_id: int) -> RawJSON:
        found = self._documents([product_id]) if is_valid_id(product_id) else []
        if not found:
            raise ProductNotFound()
        return found[0]

    def _respond(self, product: Product, status_code: int = status.HTTP_200_OK) -> Response:
        # Re-read: the response shows what is now stored.
        return Response(self._document(product.pk), status=status_code)

    def _list(self) -> Response:
        visible = self.get_queryset()
        products = self.filter_queryset(visible)
        # No filter applied (the backends return the queryset they were given): the count
        # is the one the database keeps, instead of a count of the rows.
        count = (
            selectors.visible_product_count(user=self.request.user) if products is visible else None
        )
        product_ids = self.paginator.paginate_queryset(
            products, self.request, view=self, count=count
        )
        return self.paginator.get_paginated_response(self._documents(product_ids))

    def list(self, request, *args, **kwargs):
        # Before the cache: a cached answer must not hide an unknown parameter.
        KnownQueryParameters.check(request, self)
        return cached_read(
            request,
            self._list,
            product_ids=lambda data: [product.id for product in data["results"]],
        )

    def retrieve(self, request, *args, **kwargs):
        return cached_read(
            request,
            lambda: Response(self._document(self.kwargs["pk"])),
            product_ids=lambda data: [data.id],
        )

    def create(self, request, *args, **kwargs):
        serializer = ProductWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.create_product(**serializer.validated_data)
        return self._respond(product, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        product = self._product()
        serializer = ProductWriteSerializer(product, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        product = services.update_product(
            product=product,
            collections=data.pop("collections", None),
            tags=data.pop("tags", None),
            variants=data.pop("variants", None),
            changes=data,
        )
        return self._respond(product)

    def destroy(self, request, *args, **kwargs):
        services.delete_product(product=self._product())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Add an image to a product (staff)",
        description="multipart/form-data. The file must be an image that decodes completely, "
        "in an allowed format (JPEG, PNG, WebP, GIF by default), of at most "
        "PRODUCT_IMAGE_MAX_BYTES (5 MiB by default) and PRODUCT_IMAGE_MAX_PIXELS pixels "
        "(40 million by default); otherwise 400 and nothing is stored. What is stored is a "
        "copy re-encoded from the pixels: upright (EXIF orientation applied), without "
        "metadata or anything appended to the file.",
        request={"multipart/form-data": ImageUploadSerializer},
        responses={201: UploadedImageSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="images",
        parser_classes=[MultiPartParser, FormParser],
    )
    def images(self, request, pk=None):
        product = self._product()
        serializer = ImageUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        image = services.add_product_image(
            product=product, file=data["image"], alt=data["alt"], sort_order=data["sort_order"]
        )
        body = UploadedImageSerializer(image, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Delete an image of a product (staff)",
        responses={204: NO_CONTENT},
    )
    @action(detail=True, methods=["delete"], url_path="images/<int:image_id>")
    def delete_image(self, request, pk=None, image_id=None):
        services.delete_product_image(product=self._product(), image_id=int(image_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="The category tree",
        description="Every category, as a list of roots with nested `children` "
        "(siblings sorted by name). Not paginated.",
        responses={200: CategoryTreeSerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="A category with its subtree", responses={200: CategoryTreeSerializer}
    ),
    create=extend_schema(
        summary="Create a category (staff)",
        request=CategoryWriteSerializer,
        responses={201: CategoryTreeSerializer},
    ),
    update=extend_schema(
        summary="Replace a category (staff)",
        request=CategoryWriteSerializer,
        responses={200: CategoryTreeSerializer},
    ),
    partial_update=extend_schema(
        summary="Update or move a category (staff)",
        request=CategoryWriteSerializer,
        responses={200: CategoryTreeSerializer},
    ),
    destroy=extend_schema(
        summary="Delete a category and its subtree (staff)",
        responses={204: NO_CONTENT},
    ),
)
class CategoryViewSet(NotFoundInErrorShapeMixin, viewsets.ModelViewSet):
    """The category tree (materialized path). A category's products include its descendants'
    when filtering products by category."""

    permission_classes = [IsStaffOrReadOnly]
    serializer_class = CategoryTreeSerializer
    queryset = Category.objects.all()
    filter_backends = [KnownQueryParameters]
    pagination_class = None
    lookup_value_converter = "int"

    def get_serializer_class(self):
        if self.request is not None and self.request.method in ("POST", "PUT", "PATCH"):
            return CategoryWriteSerializer
        return CategoryTreeSerializer

    def _subtree_response(self, category_id: int, status_code=status.HTTP_200_OK) -> Response:
        node = selectors.category_subtree(category_id=category_id)
        return Response(CategoryTreeSerializer(node).data, status=status_code)

    def list(self, request, *args, **kwargs):
        KnownQueryParameters.check(request, self)
        return Response(CategoryTreeSerializer(selectors.category_tree(), many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return self._subtree_response(int(self.kwargs["pk"]))

    def create(self, request, *args, **kwargs):
        serializer = CategoryWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = services.create_category(**serializer.validated_data)
        return self._subtree_response(category.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        category = self.get_object()
        serializer = CategoryWriteSerializer(category, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        parent = data.pop("parent", services.UNCHANGED)
        services.update_category(category=category, changes=data, parent=parent)
        return self._subtree_response(category.pk)

    @raises(CategoryHasProducts)
    def destroy(self, request, *args, **kwargs):
        services.delete_category(category=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List collections"),
    retrieve=extend_schema(summary="Get a collection"),
    create=extend_schema(summary="Create a collection (staff)"),
    update=extend_schema(summary="Replace a collection (staff)"),
    partial_update=extend_schema(summary="Update a collection (staff)"),
    destroy=extend_schema(
        summary="Delete a collection (staff)",
        description="Its products stay; they just leave the collection.",
        responses={204: NO_CONTENT},
    ),
)
class CollectionViewSet(NotFoundInErrorShapeMixin, viewsets.ModelViewSet):
    """Merchandised sets of products, sorted by name. Paginated like products."""

    # Plain rows with no rule beyond a unique slug (checked by the serializer): DRF's
    # generic create/update/destroy are the whole service.
    permission_classes = [IsStaffOrReadOnly]
    serializer_class = CollectionSerializer
    queryset = Collection.objects.order_by("name", "id")
    filter_backends = [KnownQueryParameters]
    lookup_value_converter = "int"


@extend_schema_view(
    list=extend_schema(summary="List tags"),
    retrieve=extend_schema(summary="Get a tag"),
    create=extend_schema(summary="Create a tag (staff)"),
    update=extend_schema(summary="Replace a tag (staff)"),
    partial_update=extend_schema(summary="Update a tag (staff)"),
    destroy=extend_schema(
        summary="Delete a tag (staff)",
        description="Its products stay; they just lose the tag.",
        responses={204: NO_CONTENT},
    ),
)
class TagViewSet(NotFoundInErrorShapeMixin, viewsets.ModelViewSet):
    """Free labels on products (brand, material...), sorted by name. Paginated like products."""

    # As for collections: no rule beyond a unique slug.
    permission_classes = [IsStaffOrReadOnly]
    serializer_class = TagSerializer
    queryset = Tag.objects.order_by("name", "id")
    filter_backends = [KnownQueryParameters]
    lookup_value_converter = "int"
