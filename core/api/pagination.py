from rest_framework.pagination import CursorPagination as BaseCursorPagination


class CursorPagination(BaseCursorPagination):
    """Keyset pagination: constant cost per page however deep the list goes."""

    ordering = "-pk"
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_paginated_response_schema(self, schema):
        """DRF's schema, with the example links of a first page (DRF's name another API's
        accounts list, and a previous page)."""
        paginated = super().get_paginated_response_schema(schema)
        links = paginated["properties"]
        links["next"]["example"] = (
            f"https://itsm.example.com/api/v1/incidents/?{self.cursor_query_param}=cD0yMDI2LTExLTAy"
        )
        links["previous"]["example"] = None
        return paginated
