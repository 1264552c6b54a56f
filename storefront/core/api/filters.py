"""Unknown query parameters answer 400 instead of being ignored (docs/api.md).

Without this a misspelt or unsupported filter (`?available=`, `?sku=`) silently answers the
whole list, which a client cannot tell from a filter that matched everything.
"""

from collections.abc import Iterable

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request
from rest_framework.settings import api_settings


def reject_unknown_query_parameters(request: Request, known: Iterable[str]) -> None:
    """Raise ValidationError (400 `invalid`) naming each query parameter not in `known`.

    `format` (DRF's URL_FORMAT_OVERRIDE, used by the browsable API) is always known. Each
    unknown name is a key of `fields`, with a message listing the parameters that are taken.
    """
    allowed = set(known)
    if api_settings.URL_FORMAT_OVERRIDE:
        allowed.add(api_settings.URL_FORMAT_OVERRIDE)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed))
        message = f"Unknown query parameter; this endpoint takes: {takes}."
        raise exceptions.ValidationError({name: [message] for name in unknown})


class KnownQueryParameters(BaseFilterBackend):
    """First of a list view's filter backends: refuse the parameters no other part reads.

    Known: the names of the view's django-filter FilterSet (a range filter's suffixed names,
    e.g. `placed_after` and `placed_before`), the parameters of its other filter backends
    (`ordering`, `search`) and of its paginator (`page`, `page_size`), and `format`. Only
    lists are checked: a detail route filters its queryset too, but takes no parameter.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet, view) -> QuerySet:
        if getattr(view, "action", "list") == "list":
            self.check(request, view, queryset)
        return queryset

    @classmethod
    def check(cls, request: Request, view, queryset: QuerySet | None = None) -> None:
        """Raise ValidationError unless every query parameter is one `view` reads.

        For a list that answers without calling filter_queryset (a cached response, a tree).
        """
        reject_unknown_query_parameters(request, cls.known(view, queryset))

    @classmethod
    def known(cls, view, queryset: QuerySet | None = None) -> frozenset[str]:
        """The query parameter names `view` reads (see the class docstring), worked out once
        per view class: they follow from its declared backends, FilterSet and paginator."""
        key = type(view)
        if key not in _known_by_view:
            _known_by_view[key] = frozenset(cls._read_by(view, queryset))
        return _known_by_view[key]

    @classmethod
    def _read_by(cls, view, queryset: QuerySet | None) -> set[str]:
        names: set[str] = set()
        for backend_class in getattr(view, "filter_backends", ()):
            if issubclass(backend_class, cls):
                continue
            backend = backend_class()
            if isinstance(backend, DjangoFilterBackend):
                filterset_class = backend.get_filterset_class(view, queryset)
                if filterset_class is not None:
                    names |= _filterset_parameters(filterset_class)
            else:
                names |= {p["name"] for p in backend.get_schema_operation_parameters(view)}
        paginator = getattr(view, "paginator", None)
        if paginator is not None:
            names |= {p["name"] for p in paginator.get_schema_operation_parameters(view)}
        return names


# Per view class: the product list asks before its cache lookup and again when it filters.
_known_by_view: dict[type, frozenset[str]] = {}


def _filterset_parameters(filterset_class) -> set[str]:
    """The query parameter names a FilterSet reads: a filter whose widget has suffixes
    (django-filter's SuffixedMultiWidget: ranges, lookup choices) reads `<name>_<suffix>`."""
    names = set()
    for name, filter_ in filterset_class.base_filters.items():
        widget = filter_.extra.get("widget") or filter_.field_class.widget
        suffixes = getattr(widget, "suffixes", None) or [None]
        # The join of SuffixedMultiWidget.suffixed(), which needs a widget instance.
        names |= {f"{name}_{suffix}" if suffix else name for suffix in suffixes}
    return names


class StrictBooleanField(forms.Field):
    """`true`/`false` (also `1`/`0`, any case); anything else is an error, not "no filter"."""

    TRUE = frozenset({"true", "1"})
    FALSE = frozenset({"false", "0"})

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValidationError("Enter true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField
