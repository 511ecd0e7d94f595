import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from agents.models import Membership, Tenant
from agents.tenancy import tenant_admin_group


class Command(BaseCommand):
    help = (
        "Create a tenant and its first admin user (staff, with a membership). The "
        "password comes from SENTRYAGENT_ADMIN_PASSWORD, or is generated and printed."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="tenant slug: lowercase letters, digits, '-'")
        parser.add_argument("--admin", required=True, help="username of the admin")
        parser.add_argument("--name", help="display name (default: the slug)")
        parser.add_argument("--email", default="", help="e-mail of the admin")

    def handle(self, *args, slug, admin, name, email, **options):
        if slugify(slug) != slug:
            raise CommandError(
                f"Invalid tenant slug {slug!r}. Use lowercase letters, digits and "
                f"hyphens, such as {slugify(slug) or 'acme'!r}."
            )
        if Tenant.objects.filter(slug=slug).exists():
            raise CommandError(f"A tenant with slug {slug!r} already exists.")
        User = get_user_model()
        if User.objects.filter(username=admin).exists():
            raise CommandError(
                f"A user named {admin!r} already exists. Choose another --admin."
            )

        password = settings.SENTRYAGENT_ADMIN_PASSWORD
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)

        with transaction.atomic():
            tenant = Tenant.objects.create(slug=slug, name=name or slug)
            user = User.objects.create_user(
                username=admin, email=email, password=password, is_staff=True
            )
            user.groups.add(tenant_admin_group())
            Membership.objects.create(user=user, tenant=tenant)

        self.stdout.write(f"Created tenant {slug} ({tenant.pk}) with admin {admin}.")
        if generated:
            self.stdout.write(f"Password of {admin}: {password}")
