"""What the pricing app's staff endpoints share (shipping zones, tax rates, membership tiers,
promotions, vouchers): staff only, integer ids, and writes that go through one function of
the endpoint's module, which checks what needs the database under the row's lock (locked)
and raises serializers.ValidationError (400) or NotFound (404), so that a refused write
changes nothing, then writes only the columns that changed (save_changed)."""

from collections.abc import Mapping
from typing import Any, TypeVar

from django.db.models import Model
from rest_framework import status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from storefront.catalog.api.views import NotFoundInErrorShapeMixin
from storefront.core.exceptions import NotFound

RowT = TypeVar("RowT", bound=Model)


def locked(row: RowT, *, missing: str) -> RowT:
    """`row` read again and locked (FOR UPDATE) for the rest of the transaction, so that
    edits of one row apply one after the other. Raises NotFound(`missing`) if it was
    deleted meanwhile."""
    fresh = type(row).objects.select_for_update().filter(pk=row.pk).first()
    if fresh is None:
        raise NotFound(missing)
    return fresh


def save_changed(row: Model, values: Mapping[str, Any]) -> list[str]:
    """Set `values` (field name -> value) on `row` and save those that differ, with
    updated_at, and no other column: what a concurrent writer owns (a voucher's times_used)
    is never written back. Returns the names of the fields changed (none: no query)."""
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    if changed:
        row.save(update_fields=[*changed, "updated_at"])
    return changed


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
