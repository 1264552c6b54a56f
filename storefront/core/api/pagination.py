from rest_framework import exceptions, pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M`: 24 a page by default, at most 100.

    Response: {"count": int, "next": url|null, "previous": url|null, "results": [...]}.
    A page past the end answers 404 in the standard error shape. A `page_size` that is not a
    whole number from 1 up answers 400 (DRF would quietly use the default); one above 100 is
    read as 100, as docs/api.md says.
    """

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        # Digits only; int() refuses more than 4,300 of them (gunicorn refuses such a request
        # line anyway, 414).
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 4000 and int(raw) >= 1):
            raise exceptions.ValidationError(
                {self.page_size_query_param: ["Send a whole number from 1 up."]}
            )
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (
                    f"Results per page: {self.page_size} by default; above "
                    f"{self.max_page_size} reads as {self.max_page_size}."
                )
        return parameters
