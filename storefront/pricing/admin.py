"""Pricing admin for staff: shipping zones with their countries and methods inline, a
list of every shipping method, and tax rates.

The rules of docs/shipping.md hold here as in the API (storefront/pricing/api/zones.py):
a country in one zone at most and method codes unique across zones (the models' unique
fields, checked by the forms), one rest-of-the-world zone that lists no countries, and
min_days at most max_days, each refused with a message on the form rather than the
database's constraint name. So do those of docs/taxes.md (storefront/pricing/api/taxes.py):
one rate per country, region (ignoring case) and tax class, from 0 to 1. And so do those of
docs/promotions.md, with the API's own checks (storefront/pricing/api/tiers.py,
promotions.py, vouchers.py): tier percentages from 0 to 100 (the three tiers are neither
added nor deleted, and a change invalidates the catalog's cached responses), discount values
that fit their kind, dates in order, voucher codes of letters, digits, - and _ stored
upper-cased and unique ignoring case, and a voucher's usage limit not below its uses.
"""

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Count, QuerySet
from django_countries.filters import CountryFilter

from storefront.accounts.models import User
from storefront.pricing.api.promotions import promotion_errors
from storefront.pricing.api.taxes import held_elsewhere
from storefront.pricing.api.tiers import percentage_errors, save_tier
from storefront.pricing.api.vouchers import code_taken, normalize_code, save_voucher, voucher_errors
from storefront.pricing.models import (
    METHOD_FIELDS,
    MembershipTier,
    Promotion,
    ShippingMethod,
    ShippingZone,
    ShippingZoneCountry,
    TaxRate,
    Voucher,
)

REST_OF_WORLD_LISTS_NONE = (
    "A rest-of-the-world zone lists no countries: it ships to those no other zone lists."
)


class ShippingZoneForm(forms.ModelForm):
    class Meta:
        model = ShippingZone
        fields = ["name", "rest_of_world"]

    def clean_rest_of_world(self) -> bool:
        rest_of_world = self.cleaned_data["rest_of_world"]
        if rest_of_world:
            holder = (
                ShippingZone.objects.filter(rest_of_world=True)
                .exclude(pk=self.instance.pk)
                .values_list("name", flat=True)
                .first()
            )
            if holder is not None:
                raise forms.ValidationError(
                    f"The zone {holder!r} is already the rest of the world."
                )
        return rest_of_world


class ZoneCountriesFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # The zone form has been applied to self.instance by now (ModelAdmin.save_form).
        if not self.instance.rest_of_world:
            return
        kept = [
            form
            for form in self.forms
            if form.cleaned_data.get("country") and not form.cleaned_data.get("DELETE")
        ]
        if kept:
            raise forms.ValidationError(REST_OF_WORLD_LISTS_NONE)


class ShippingZoneCountryInline(admin.TabularInline):
    model = ShippingZoneCountry
    formset = ZoneCountriesFormSet
    fields = ["country"]
    extra = 0


class ShippingMethodForm(forms.ModelForm):
    class Meta:
        model = ShippingMethod
        fields = list(METHOD_FIELDS)

    def clean(self) -> dict:
        cleaned = super().clean()
        min_days, max_days = cleaned.get("min_days"), cleaned.get("max_days")
        if min_days is not None and max_days is not None and min_days > max_days:
            self.add_error("min_days", f"Must be at most max_days ({max_days}).")
        return cleaned


class ShippingMethodInline(admin.TabularInline):
    model = ShippingMethod
    form = ShippingMethodForm
    fields = ShippingMethodForm.Meta.fields
    extra = 0


@admin.register(ShippingZone)
class ShippingZoneAdmin(admin.ModelAdmin):
    form = ShippingZoneForm
    list_display = ["name", "rest_of_world", "country_count", "method_count"]
    list_filter = ["rest_of_world"]
    search_fields = ["name", "countries__country", "methods__code"]
    inlines = [ShippingZoneCountryInline, ShippingMethodInline]

    def get_queryset(self, request) -> QuerySet[ShippingZone]:
        # The counts in the list's own query, not two per row.
        return (
            super()
            .get_queryset(request)
            .annotate(
                country_count=Count("countries", distinct=True),
                method_count=Count("methods", distinct=True),
            )
        )

    @admin.display(description="Countries", ordering="country_count")
    def country_count(self, zone: ShippingZone) -> int:
        return zone.country_count

    @admin.display(description="Methods", ordering="method_count")
    def method_count(self, zone: ShippingZone) -> int:
        return zone.method_count


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    form = ShippingMethodForm
    list_display = [
        "code",
        "name",
        "zone",
        "price",
        "free_shipping_threshold",
        "days",
        "is_active",
    ]
    list_filter = ["is_active", "zone"]
    list_select_related = ["zone"]
    search_fields = ["code", "name"]
    fields = ["zone", *ShippingMethodForm.Meta.fields]
    ordering = ["zone__name", "position", "price", "code"]

    @admin.display(description="Delivery (days)", ordering="min_days")
    def days(self, method: ShippingMethod) -> str:
        if method.min_days == method.max_days:
            return str(method.min_days)
        return f"{method.min_days}-{method.max_days}"


class TaxRateForm(forms.ModelForm):
    class Meta:
        model = TaxRate
        fields = ["country", "region", "tax_class", "rate", "name"]

    def clean_rate(self):
        # The model's check constraint would answer with its name only.
        rate = self.cleaned_data["rate"]
        if rate is not None and not 0 <= rate <= 1:
            raise forms.ValidationError("A rate is a fraction from 0 to 1 (0.2000 is 20 %).")
        return rate

    def clean(self) -> dict:
        cleaned = super().clean()
        country, tax_class = cleaned.get("country"), cleaned.get("tax_class")
        if country and tax_class and "region" in cleaned:
            # The API's check (regions compared ignoring case, as quotes compare them). On
            # tax_class, which then leaves the model's exact unique check out.
            held = held_elsewhere(
                tax_rate=self.instance if self.instance.pk else None,
                country=str(country),
                region=cleaned["region"],
                tax_class=tax_class,
            )
            for field, messages in held.items():
                self.add_error(field, messages)
        return cleaned


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    form = TaxRateForm
    list_display = ["country", "region", "tax_class", "rate", "name"]
    list_filter = [("country", CountryFilter), "tax_class"]
    search_fields = ["region", "name"]
    ordering = ["country", "region", "tax_class"]


# --- Discounts -------------------------------------------------------------------------------


class MembershipTierForm(forms.ModelForm):
    class Meta:
        model = MembershipTier
        fields = ["name", "discount_percentage"]

    def clean_discount_percentage(self):
        percentage = self.cleaned_data["discount_percentage"]
        errors = percentage_errors(percentage)
        if errors:
            raise forms.ValidationError(errors)
        return percentage


@admin.register(MembershipTier)
class MembershipTierAdmin(admin.ModelAdmin):
    """The three tiers of the memberships: their names and percentages change, the set of
    tiers does not (no add, no delete)."""

    form = MembershipTierForm
    list_display = ["code", "name", "discount_percentage"]
    fields = ["code", "name", "discount_percentage"]
    readonly_fields = ["code"]
    ordering = ["discount_percentage", "code"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        # The API's write: it invalidates the catalog's cached responses on commit.
        save_tier(tier=obj, data=form.cleaned_data)


def tiers_form_field() -> forms.MultipleChoiceField:
    """The memberships a discount is for, as checkboxes (each at most once); none: everyone."""
    return forms.MultipleChoiceField(
        choices=User.Membership.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Memberships it applies to; none: everyone, guests included.",
    )


class PromotionForm(forms.ModelForm):
    tiers = tiers_form_field()

    class Meta:
        model = Promotion
        fields = [
            "code",
            "name",
            "description",
            "kind",
            "value",
            "categories",
            "collections",
            "tags",
            "products",
            "tiers",
            "starts_at",
            "ends_at",
            "priority",
            "is_active",
        ]

    def clean(self) -> dict:
        cleaned = super().clean()
        # The API's checks, on the field they name; the model's check constraints would
        # answer with their names only.
        errors = promotion_errors(
            kind=cleaned.get("kind"),
            value=cleaned.get("value"),
            starts_at=cleaned.get("starts_at"),
            ends_at=cleaned.get("ends_at"),
        )
        for field, messages in errors.items():
            self.add_error(field, messages)
        return cleaned


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    form = PromotionForm
    list_display = [
        "code",
        "name",
        "kind",
        "value",
        "priority",
        "starts_at",
        "ends_at",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]
    filter_horizontal = ["categories", "collections", "tags", "products"]
    ordering = ["-priority", "code"]


class VoucherForm(forms.ModelForm):
    tiers = tiers_form_field()

    class Meta:
        model = Voucher
        fields = [
            "code",
            "name",
            "kind",
            "value",
            "min_subtotal",
            "starts_at",
            "ends_at",
            "usage_limit",
            "per_customer_limit",
            "tiers",
            "is_active",
        ]

    def clean_code(self) -> str:
        try:
            code = normalize_code(self.cleaned_data["code"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        taken = code_taken(voucher=self.instance if self.instance.pk else None, code=code)
        if taken:
            raise forms.ValidationError(taken["code"])
        return code

    def clean(self) -> dict:
        cleaned = super().clean()
        errors = voucher_errors(
            kind=cleaned.get("kind"),
            value=cleaned.get("value"),
            starts_at=cleaned.get("starts_at"),
            ends_at=cleaned.get("ends_at"),
            usage_limit=cleaned.get("usage_limit"),
            times_used=self._times_used(),
        )
        for field, messages in errors.items():
            self.add_error(field, messages)
        return cleaned

    def _times_used(self) -> int:
        """The voucher's uses, read with its row locked when the form is validated in a
        transaction (the admin's change view is one): a checkout then cannot claim a use
        between this check and the save, which would break the usage-limit constraint."""
        if self.instance.pk is None:
            return 0
        vouchers = Voucher.objects.filter(pk=self.instance.pk)
        if transaction.get_connection().in_atomic_block:
            vouchers = vouchers.select_for_update()
        return vouchers.values_list("times_used", flat=True).first() or 0


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    form = VoucherForm
    list_display = [
        "code",
        "name",
        "kind",
        "value",
        "times_used",
        "usage_limit",
        "ends_at",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]
    readonly_fields = ["times_used"]
    ordering = ["code"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # The API's write: only the changed fields, never times_used (the checkouts').
        save_voucher(voucher=obj, data=form.cleaned_data)
