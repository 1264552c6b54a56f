"""Files streamed to staff (the catalog and order exports): one base view and one response.

`format` in these views names the file, not a renderer: DRF reads the same query parameter
as its renderer override (URL_FORMAT_OVERRIDE) and would answer 404 to `csv`, which no
renderer has. StaffFileView therefore negotiates with its one JSON renderer whatever
`format` says (errors are JSON, the one shape of docs/api.md), and each view reads `format`
itself.
"""

import itertools
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from rest_framework.permissions import IsAdminUser
from rest_framework.views import APIView

from storefront.core.api.renderers import JSONRenderer


class StaffFileView(APIView):
    """A staff-only view answering a file: anonymous 401, customers 403, errors in JSON."""

    permission_classes = [IsAdminUser]
    renderer_classes = [JSONRenderer]

    def perform_content_negotiation(self, request, force=False):
        # `format=csv` matches no renderer (module docstring): the JSON renderer, for errors.
        return super().perform_content_negotiation(request, force=True)


def streamed_file(
    chunks: Iterator[str], *, content_type: str, stem: str, extension: str
) -> StreamingHttpResponse:
    """An attachment named `<stem>-YYYYMMDD.<extension>` (today in the store's time zone)
    streaming `chunks`, never cached. The first chunk is read here: it runs the first query,
    so that a database outage answers 503 rather than an empty 200."""
    first = next(chunks, "")
    response = StreamingHttpResponse(itertools.chain([first], chunks), content_type=content_type)
    day = timezone.localdate(timezone=timezone.get_default_timezone())
    response["Content-Disposition"] = f'attachment; filename="{stem}-{day:%Y%m%d}.{extension}"'
    add_never_cache_headers(response)
    return response
