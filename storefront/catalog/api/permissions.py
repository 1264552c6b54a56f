from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsStaffOrReadOnly(BasePermission):
    """Anyone may read; only active staff may write.

    A write by an anonymous visitor answers 401 (DRF does so when the request carries no
    credentials), by a customer 403.
    """

    message = "Only staff can change the catalog."
    # Read by the OpenAPI schema (core/api/schema.py): reads need no authentication.
    allows_anonymous_reads = True

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)
