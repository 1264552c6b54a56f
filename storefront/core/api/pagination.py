from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M`: 24 a page by default, at most 100.

    Response: {"count": int, "next": url|null, "previous": url|null, "results": [...]}.
    A page past the end answers 404 in the standard error shape.
    """

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100
