"""Error bodies of the tenant API."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    """Add DRF's stable error code beside ``detail`` in error bodies.

    Validation errors keep DRF's shape, a list of messages under each field name.
    """
    # DRF converts Django's Http404 and PermissionDenied to its own exceptions
    # only inside exception_handler, so they are converted here too, which
    # gives their bodies a code such as 'not_found'.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, dict) and "detail" in response.data:
        codes = exc.get_codes() if hasattr(exc, "get_codes") else None
        if isinstance(codes, str):
            response.data["code"] = codes
    return response
