"""DRF permissions for the tenant API."""

from rest_framework.permissions import BasePermission

from agents.tenancy import tenant_of


class IsTenantMember(BasePermission):
    """Allow authenticated users who belong to a tenant."""

    message = (
        "This user belongs to no tenant. Ask an operator to run "
        "'manage.py create_tenant' or to add a membership for the user."
    )

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        request.tenant = tenant_of(request.user)
        return request.tenant is not None
