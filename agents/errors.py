"""Error bodies of the tenant API."""

from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    """Add DRF's stable error code beside ``detail`` in error bodies.

    Validation errors keep DRF's shape, a list of messages under each field name.
    """
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, dict) and "detail" in response.data:
        codes = exc.get_codes() if hasattr(exc, "get_codes") else None
        if isinstance(codes, str):
            response.data["code"] = codes
    return response
