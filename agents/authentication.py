"""Tenant API token authentication, with error messages that explain the fix."""

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from rest_framework.authentication import get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

INVALID_TOKEN = (
    "Invalid or expired API token. An operator creates one with 'manage.py "
    "create_api_token USERNAME'; send it as 'Authorization: Token <token>'."
)
WRONG_SCHEME = (
    "Unsupported Authorization scheme {scheme!r}. Send the tenant API token as "
    "'Authorization: Token <token>'."
)


class TenantTokenAuthentication(TokenAuthentication):
    """knox's token authentication, which stores only a hash of each token."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if header and header[0].lower() in (b"bearer", b"basic", b"jwt"):
            scheme = header[0].decode("ascii", "replace")
            raise AuthenticationFailed(WRONG_SCHEME.format(scheme=scheme))
        try:
            return super().authenticate(request)
        except AuthenticationFailed as error:
            raise AuthenticationFailed(INVALID_TOKEN, code=error.get_codes()) from None


class TenantTokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of the tenant API token."""

    target_class = TenantTokenAuthentication
