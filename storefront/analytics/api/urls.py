from django.urls import path

from storefront.analytics.api import views

urlpatterns = [
    path("analytics/summary/", views.SummaryView.as_view(), name="analytics-summary"),
    path("analytics/top-products/", views.TopProductsView.as_view(), name="analytics-top-products"),
    path("analytics/sales/", views.SalesView.as_view(), name="analytics-sales"),
    path("analytics/sales.csv", views.SalesCsvView.as_view(), name="analytics-sales-csv"),
    path(
        "analytics/revenue-by-category/",
        views.RevenueByCategoryView.as_view(),
        name="analytics-revenue-by-category",
    ),
    path("analytics/discounts/", views.DiscountsView.as_view(), name="analytics-discounts"),
    path("analytics/refunds/", views.RefundsView.as_view(), name="analytics-refunds"),
]
