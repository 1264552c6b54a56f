"""Stale guest carts are deleted by Celery beat."""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone

from config.celery import app as celery_app
from storefront.accounts.tests.factories import UserFactory
from storefront.carts.models import Cart
from storefront.carts.tasks import delete_stale_guest_carts
from storefront.carts.tests.factories import CartItemFactory, GuestCartFactory

pytestmark = pytest.mark.django_db


def age(cart: Cart, days: int) -> None:
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now() - timedelta(days=days))


def test_the_task_deletes_guest_carts_older_than_the_configured_age(settings):
    settings.GUEST_CART_MAX_AGE_DAYS = 10
    stale, recent, touched = GuestCartFactory(), GuestCartFactory(), CartItemFactory().cart
    customer_cart = UserFactory().cart
    for cart, days in ((stale, 11), (recent, 9), (touched, 11), (customer_cart, 400)):
        age(cart, days)

    assert delete_stale_guest_carts.delay().get() == 1

    remaining = set(Cart.objects.values_list("pk", flat=True))
    assert {recent.pk, touched.pk, customer_cart.pk} <= remaining
    assert stale.pk not in remaining
    assert delete_stale_guest_carts() == 0


def test_the_task_is_scheduled_every_night_in_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["delete-stale-guest-carts"]

    assert entry["task"] == delete_stale_guest_carts.name
    assert entry["task"] in celery_app.tasks
    assert isinstance(entry["schedule"], crontab)
    assert entry["schedule"].hour == {3}


def test_the_default_age_is_thirty_days():
    assert settings.GUEST_CART_MAX_AGE_DAYS == 30
