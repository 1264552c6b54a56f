from django.urls import path

from storefront.payments.api import views

urlpatterns = [
    path(
        "payments/stripe/webhook/",
        views.StripeWebhookView.as_view(),
        name="stripe-webhook",
    ),
    path(
        "payments/sandbox/confirm/",
        views.SandboxConfirmView.as_view(),
        name="sandbox-confirm",
    ),
]
