"""The staff sales dashboard, a page of the Django admin: /admin/analytics/salesdashboard/.

Key figures of a period, a chart of sales over time (Chart.js, served from this app's static
files), top products, revenue per top-level category and the variants low on stock. Every
figure comes from storefront.analytics.selectors, so the page runs a fixed number of queries.
"""

from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse

from storefront.analytics import selectors
from storefront.analytics.api.serializers import SalesParamsSerializer
from storefront.analytics.models import SalesDashboard


@admin.register(SalesDashboard)
class SalesDashboardAdmin(admin.ModelAdmin):
    """Read-only page for any active staff user; it has no add, change or delete views."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view(self.dashboard_view)
        return [path("", view, name="{}_{}_changelist".format(*info))]

    def dashboard_view(self, request):
        """Render the dashboard for ?date_from=&date_to=&interval= (the API's parameters).

        Invalid parameters are shown as errors above the default period (the last 30 days).
        """
        params = SalesParamsSerializer(data=request.GET)
        if params.is_valid():
            choice, errors = params.validated_data, {}
        else:
            errors = params.errors
            fallback = SalesParamsSerializer(data={})
            fallback.is_valid(raise_exception=True)
            choice = fallback.validated_data
        period, interval = choice["period"], choice["interval"]
        top = selectors.top_products(period=period, limit=10)
        low_stock = selectors.low_stock_variants()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Sales dashboard",
            "period": period,
            "interval": interval,
            "intervals": selectors.INTERVALS,
            "errors": errors,
            "currency": settings.STORE_CURRENCY,
            "time_zone": settings.TIME_ZONE,
            "summary": selectors.sales_summary(period=period),
            "chart": {
                "currency": settings.STORE_CURRENCY,
                "interval": interval,
                "series": selectors.sales_series(period=period, interval=interval),
            },
            "top_by_revenue": top["by_revenue"],
            "top_by_quantity": top["by_quantity"],
            "categories": selectors.revenue_by_category(period=period),
            "low_stock": [(variant, _product_url(variant.product_id)) for variant in low_stock],
            "threshold": settings.LOW_STOCK_THRESHOLD,
            "csv_query": f"date_from={period.start}&date_to={period.end}&interval={interval}",
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/analytics/sales_dashboard.html", context)


def _product_url(product_id: int) -> str | None:
    """The product's admin change page, if the catalog admin has one."""
    try:
        return reverse("admin:catalog_product_change", args=[product_id])
    except NoReverseMatch:
        return None
