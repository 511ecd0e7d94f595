"""A 503 with a clear body when the database cannot be reached.

Without it, a database outage shows as a 500 with Django's error page. The
OAuth endpoints already return their own RFC 6749 body for this case.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        # Only connection failures: other database errors are bugs and stay 500s.
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error(
            "database unavailable path=%s error=%s",
            request.path,
            type(exception).__name__,
        )
        return JsonResponse(
            {
                "detail": "The service cannot reach its database. Retry in a few "
                "seconds.",
                "code": "database_unavailable",
            },
            status=503,
            headers={"Retry-After": "5"},
        )
