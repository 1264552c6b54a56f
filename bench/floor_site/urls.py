from django.urls import path

from bench.floor_site import views

urlpatterns = [
    path("products/", views.FlatProductList.as_view()),
    path("products/<int:pk>/", views.FlatProductDetail.as_view()),
    path("constant/", views.constant),
]
