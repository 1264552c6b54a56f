"""Postal addresses as orders keep them: one shape, one text rendering.

A postal address is a dict with exactly the keys of FIELDS, every value a string ("" when
absent):

    {"full_name": "Ada Lovelace", "line1": "12 St James's Square", "line2": "",
     "city": "London", "postal_code": "SW1Y 4JH", "country": "GB", "region": "",
     "phone": "+44 20 7946 0000"}

`country` is an ISO 3166-1 alpha-2 code, upper case; `region` a state, province or county
as written on a parcel. An order stores one for its shipping and one for its billing address
(Order.shipping_address_details, .billing_address_details) beside the text rendering that
clients read as `shipping_address`. Shipping and tax read the structured one.

A checkout may still send an address as text (what clients sent before addresses had a
structure). Its snapshot keeps the whole text in `line1`, and takes the store's country
(settings.STORE_COUNTRY); city and postal code are then unknown ("").
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.conf import settings
from django_countries import countries

if TYPE_CHECKING:
    from storefront.accounts.models import Address

PostalAddress = dict[str, str]

FIELDS = ("full_name", "line1", "line2", "city", "postal_code", "country", "region", "phone")
# What anonymisation keeps of an order's address: where the order went, for the records tax
# law asks a shop to keep (orders.services.anonymise_customer); not who or which street.
KEPT_WHEN_ANONYMISED = ("country", "region")


def from_book(address: "Address") -> PostalAddress:
    """The postal address of an address book entry."""
    return {name: str(getattr(address, name)) for name in FIELDS}


def from_text(text: str) -> PostalAddress:
    """The postal address of an address given as text: the text in line1, the store's
    country (settings.STORE_COUNTRY), everything else unknown."""
    return {**dict.fromkeys(FIELDS, ""), "line1": text, "country": settings.STORE_COUNTRY}


def normalised(fields: Mapping[str, str]) -> PostalAddress:
    """A postal address from already-validated fields (FIELDS; the optional ones may be
    missing): every key present, the country code upper case."""
    address = {name: fields.get(name) or "" for name in FIELDS}
    address["country"] = address["country"].upper()
    return address


def snapshot(address: Mapping[str, str] | str) -> tuple[str, PostalAddress]:
    """What an order keeps of an address given as a postal address or as text: (its text,
    the postal address)."""
    if isinstance(address, str):
        return address, from_text(address)
    address = normalised(address)
    return as_text(address), address


def as_text(address: Mapping[str, str]) -> str:
    """The address as the multi-line text printed on a parcel: the name, the street lines,
    "<postal code> <city>", the region and the country's English name, each on its line when
    known. A text address (from_text) renders as its text."""
    if not address["city"]:  # required but in a text address
        return address["line1"]
    lines = [
        address["full_name"],
        address["line1"],
        address["line2"],
        f"{address['postal_code']} {address['city']}".strip(),
        address["region"],
        countries.name(address["country"]) or address["country"],
    ]
    return "\n".join(line for line in lines if line)


def redaction(redacted: str) -> dict[str, str]:
    """The keys anonymisation overwrites in an order's address, and with what: every field
    but KEPT_WHEN_ANONYMISED becomes `redacted` (line1) or ""."""
    return {
        name: redacted if name == "line1" else ""
        for name in FIELDS
        if name not in KEPT_WHEN_ANONYMISED
    }
