from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from agents.models import Agent, Tenant
from policies.models import TrustPolicy


class Command(BaseCommand):
    help = (
        "Create the demo tenant 'demo' with admin 'demo-admin', an agent 'deployer', "
        "a trust policy for 'org/repo-a' on branch 'main', and a registration policy "
        "that lets that branch register agents. Creates only what is missing. For "
        "development only."
    )

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug="demo").first()
        if tenant is None:
            call_command("create_tenant", "demo", admin="demo-admin", name="Demo")
            tenant = Tenant.objects.get(slug="demo")
        agent, _ = Agent.objects.get_or_create(
            tenant=tenant,
            name="deployer",
            defaults={"description": "Demo agent for org/repo-a's main branch."},
        )
        TrustPolicy.objects.get_or_create(
            tenant=tenant,
            agent=agent,
            repository="org/repo-a",
            branch="main",
            defaults={"description": "Demo policy."},
        )
        TrustPolicy.objects.get_or_create(
            tenant=tenant,
            agent=None,
            repository="org/repo-a",
            branch="main",
            defaults={"description": "Demo registration policy."},
        )
        admin = get_user_model().objects.get(username="demo-admin")
        if settings.SENTRYAGENT_ADMIN_PASSWORD:
            # The demo login always works with the password of this run.
            password = settings.SENTRYAGENT_ADMIN_PASSWORD
            admin.set_password(password)
            admin.save(update_fields=["password"])
        else:
            password = "the one printed when the tenant was created"
        self.stdout.write(
            f"Demo tenant ready.\n"
            f"  Admin:    {settings.SENTRYAGENT_ISSUER}/admin/\n"
            f"  Login:    {admin.username}, password: {password}\n"
            f"  API:      {settings.SENTRYAGENT_ISSUER}/agents\n"
            f"  Agent id: {agent.pk}"
        )
