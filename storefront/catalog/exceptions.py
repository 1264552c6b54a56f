"""Catalog domain errors, mapped to HTTP by storefront.core.api.exceptions.

Input that breaks a catalog rule tied to one field (a SKU already used by another product, a
category moved under its own descendant, an upload that is not an allowed image) is reported
as django.core.exceptions.ValidationError keyed by field name, which the core handler turns
into a 400 `invalid` with `fields`. Deleting a category that still holds products raises
CategoryHasProducts, a 409 `protected` like the ProtectedError the core handler maps.
"""

from storefront.core.exceptions import Conflict, NotFound


class ProductNotFound(NotFound):
    default_message = "No such product."


class CategoryNotFound(NotFound):
    default_message = "No such category."


class ProductImageNotFound(NotFound):
    default_message = "No such image for this product."


class CategoryHasProducts(Conflict):
    """The category, or one of its descendants, still holds products: it cannot be deleted.

    Same `code` as the core handler gives ProtectedError, so clients see one error for one
    cause whichever check caught it.
    """

    code = "protected"
    default_message = "Cannot delete: products are still in this category or its descendants."


class ImportNotFound(NotFound):
    default_message = "No such catalog import."


class ImportNotApplicable(Conflict):
    """A catalog import cannot be applied: it is not a finished dry run, or it found errors
    and is all or nothing."""

    code = "import_not_applicable"
    default_message = "Only a finished dry run can be applied."
