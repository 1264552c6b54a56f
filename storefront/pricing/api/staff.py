"""What the pricing app's staff endpoints share (tax rates, membership tiers, promotions,
vouchers): staff only, integer ids, and writes that go through one function of the
endpoint's module, which checks what needs the database under the row's lock and raises
serializers.ValidationError (400) or NotFound (404), so that a refused write changes
nothing."""

from typing import Any

from django.db.models import Model
from rest_framework import status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from storefront.catalog.api.views import NotFoundInErrorShapeMixin


class StaffUpdatesMixin(NotFoundInErrorShapeMixin):
    """update (PUT, PATCH) of a viewset through `write`: the serializer validates the body,
    `write(instance, validated_data)` saves it and returns the row, and the answer is
    `shown(row)`. For an endpoint without create (the router routes POST to any viewset
    that has a `create`)."""

    permission_classes = [IsAdminUser]
    lookup_value_converter = "int"

    def write(self, instance: Model | None, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def shown(self, instance: Model) -> dict[str, Any]:
        """The answer's body: the row as the serializer shows it."""
        return self.get_serializer_class()(instance).data

    def update(self, request, *args, **kwargs) -> Response:
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer_class()(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return Response(self.shown(self.write(instance, serializer.validated_data)))


class StaffWritesMixin(StaffUpdatesMixin):
    """StaffUpdatesMixin's update, and create (201) through `write(None, validated_data)`."""

    def create(self, request, *args, **kwargs) -> Response:
        serializer = self.get_serializer_class()(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = self.write(None, serializer.validated_data)
        return Response(self.shown(created), status=status.HTTP_201_CREATED)
