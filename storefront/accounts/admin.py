"""Admin for users (email login) and their addresses."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_countries.filters import CountryFilter

from storefront.accounts.models import Address, User, UserManager
from storefront.accounts.services import DEFAULT_FLAGS, EMAIL_TAKEN_MESSAGE


class UserCreationForm(BaseUserCreationForm):
    """Email and the password twice (checked by AUTH_PASSWORD_VALIDATORS)."""

    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        email = UserManager.normalize_email(self.cleaned_data.get("email"))
        if User.objects.filter(email=email).exists():
            raise ValidationError(EMAIL_TAKEN_MESSAGE, code="unique")
        return email


class UserChangeForm(DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class AddressInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        """At most one default of each kind: the database would refuse a second one."""
        super().clean()
        for flag in DEFAULT_FLAGS:
            marked = [
                form
                for form in self.forms
                if form.cleaned_data.get(flag) and not form.cleaned_data.get("DELETE")
            ]
            if len(marked) > 1:
                label = Address._meta.get_field(flag).verbose_name
                raise ValidationError(f"Only one address can be marked “{label}”.")


class AddressInline(admin.StackedInline):
    model = Address
    formset = AddressInlineFormSet
    extra = 0
    fields = (
        "full_name",
        ("line1", "line2"),
        ("city", "postal_code", "region", "country"),
        "phone",
        ("is_default_shipping", "is_default_billing"),
    )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            _("Personal info"),
            {"fields": ("first_name", "last_name", "phone_number", "birth_date", "membership")},
        ),
        (
            _("Permissions"),
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ),
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    list_display = (
        "email",
        "first_name",
        "last_name",
        "membership",
        "is_staff",
        "is_active",
        "date_joined",
    )
    list_filter = ("membership", "is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    inlines = (AddressInline,)

    def get_inlines(self, request, obj):
        # Addresses belong to an existing user; the add form stays email + password.
        return self.inlines if obj is not None else ()


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "customer",
        "full_name",
        "country",
        "is_default_shipping",
        "is_default_billing",
    )
    list_filter = (("country", CountryFilter), "is_default_shipping", "is_default_billing")
    search_fields = (
        "customer__email",
        "full_name",
        "line1",
        "line2",
        "city",
        "postal_code",
    )
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    readonly_fields = ("created_at", "updated_at")
