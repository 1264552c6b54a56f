"""Analytics has no data of its own: it reads orders. One table-less model places the staff
dashboard in the admin."""

from django.db import models


class SalesDashboard(models.Model):
    """No table: gives the staff sales dashboard its admin entry (Analytics > Sales dashboard).

    The page itself is `SalesDashboardAdmin` in admin.py; any active staff user may open it.
    """

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = "sales dashboard"
        verbose_name_plural = "sales dashboard"

    def __str__(self) -> str:
        return "Sales dashboard"
