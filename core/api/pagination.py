from rest_framework.pagination import CursorPagination as BaseCursorPagination


class CursorPagination(BaseCursorPagination):
    """Keyset pagination: constant cost per page however deep the list goes."""

    ordering = "-pk"
    page_size_query_param = "page_size"
    max_page_size = 200
