"""Health endpoints for load balancers and orchestrators.

They need no authentication and return no details, such as error messages or
versions, that would help an attacker.
"""

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse

from oidc_exchange.signing import active_signing_key, load_private_key

logger = logging.getLogger(__name__)


def liveness(request) -> JsonResponse:
    """Return 200 while the process serves requests."""
    return JsonResponse({"status": "ok"})


def readiness(request) -> JsonResponse:
    """Return 200 when the database responds and the signing key is loaded."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        load_private_key(active_signing_key())
    except DatabaseError as error:
        logger.warning("readiness check failed error=%s", type(error).__name__)
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ready"})
