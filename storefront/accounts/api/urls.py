"""Accounts routes, included under /api/ by config/urls.py."""

from django.urls import path

from storefront.accounts.api import views

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/password-reset/", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path(
        "auth/password-reset/confirm/",
        views.PasswordResetConfirmView.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("auth/verify-email/", views.VerifyEmailView.as_view(), name="auth-verify-email"),
    path(
        "auth/verify-email/resend/",
        views.VerifyEmailResendView.as_view(),
        name="auth-verify-email-resend",
    ),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/password/", views.PasswordChangeView.as_view(), name="me-password"),
    path("me/export/", views.MeExportView.as_view(), name="me-export"),
    path("me/addresses/", views.AddressListView.as_view(), name="address-list"),
    path("me/addresses/<int:pk>/", views.AddressDetailView.as_view(), name="address-detail"),
]
