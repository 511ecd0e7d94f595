"""Finding the tenant a request acts for."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from agents.models import Tenant


def tenant_of(user: AbstractBaseUser | AnonymousUser) -> Tenant | None:
    """Return the tenant the user belongs to, or None for users without one."""
    if not user.is_authenticated:
        return None
    membership = getattr(user, "membership", None)
    return membership.tenant if membership is not None else None


# Permissions of a tenant admin. Every row they reach is also filtered to
# their tenant by the admin and the API.
TENANT_ADMIN_PERMISSIONS = (
    "agents.add_agent",
    "agents.change_agent",
    "agents.delete_agent",
    "agents.view_agent",
    "policies.add_trustpolicy",
    "policies.change_trustpolicy",
    "policies.delete_trustpolicy",
    "policies.view_trustpolicy",
    "oidc_exchange.view_exchangerecord",
)
TENANT_ADMIN_GROUP = "Tenant admins"


def tenant_admin_group():
    """Return the group with the tenant admin permissions, creating it if needed."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=TENANT_ADMIN_GROUP)
    for dotted in TENANT_ADMIN_PERMISSIONS:
        app_label, codename = dotted.split(".")
        permission = Permission.objects.get(
            content_type__app_label=app_label, codename=codename
        )
        group.permissions.add(permission)
    return group
