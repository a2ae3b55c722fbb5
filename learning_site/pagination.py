from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Stable, index-friendly paging for every list endpoint (newest first by id)."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
