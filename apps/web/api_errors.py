"""One error shape for the API, and no 500 for input the client got wrong."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    """409: the state change conflicts with the current state (e.g. already decided)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflicting state change."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    """413: the request body is larger than the endpoint takes."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, DataError):
        exc = exceptions.ValidationError({"detail": ["Value out of range or malformed."]})
    elif isinstance(exc, IntegrityError):
        return Response(
            {"detail": "Conflicts with existing data."}, status=status.HTTP_409_CONFLICT
        )
    return drf_exception_handler(exc, context)
