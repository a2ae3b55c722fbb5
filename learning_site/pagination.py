from base64 import b64decode
from binascii import Error as Base64Error
from urllib import parse

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

INVALID_CURSOR = "Invalid cursor: use the `next` or `previous` link of a page as it is."
# PostgreSQL's bigint and the largest offset worth skipping; beyond them a cursor is forged.
MAX_POSITION = 2**63 - 1
MAX_OFFSET = 10_000


class CursorPagination(pagination.CursorPagination):
    """Stable, index-friendly paging for every list endpoint (newest first by id).

    A cursor is the client's input: one that does not decode, or whose position is not a
    value of the ordering field, is a 400 naming ``cursor`` (DRF's own check answers 404
    and lets a forged position reach the database as a 500).
    """

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    invalid_cursor_message = INVALID_CURSOR

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            querystring = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(querystring, keep_blank_values=True, strict_parsing=False)
            offset = int(tokens.get("o", ["0"])[0])
            reverse = bool(int(tokens.get("r", ["0"])[0]))
            position = tokens.get("p", [None])[0]
        except (TypeError, ValueError, UnicodeError, Base64Error):
            raise self._invalid() from None
        if not 0 <= offset <= MAX_OFFSET:
            raise self._invalid()
        if position is not None:
            self._check_position(position)
        return pagination.Cursor(offset=offset, reverse=reverse, position=position)

    def _check_position(self, position: str) -> None:
        if "\x00" in position:
            raise self._invalid()
        # paginate_queryset sets self.ordering before it decodes the cursor.
        model, ordering = getattr(self, "_model", None), getattr(self, "ordering", ())
        if isinstance(ordering, str):
            ordering = (ordering,)
        if model is None or not ordering:
            return
        try:
            field = model._meta.get_field(ordering[0].lstrip("-"))
        except FieldDoesNotExist:
            return
        try:
            value = field.to_python(position)
        except DjangoValidationError:
            raise self._invalid() from None
        if isinstance(value, int) and not -MAX_POSITION <= value <= MAX_POSITION:
            raise self._invalid()

    def _invalid(self) -> ValidationError:
        return ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})
