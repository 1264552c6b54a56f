# Every customer has exactly one cart. User.save() creates it from now on; this gives one to
# every user created before that rule existed.

from django.conf import settings
from django.db import migrations


def create_missing_customer_carts(apps, schema_editor):
    Cart = apps.get_model("carts", "Cart")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    db = schema_editor.connection.alias
    missing = User.objects.using(db).filter(cart__isnull=True).values_list("pk", flat=True)
    Cart.objects.using(db).bulk_create(
        [Cart(customer_id=pk) for pk in missing.iterator()], batch_size=500
    )


class Migration(migrations.Migration):

    dependencies = [
        ("carts", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(create_missing_customer_carts, migrations.RunPython.noop),
    ]
