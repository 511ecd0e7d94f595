from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken

from agents.tenancy import tenant_of


class Command(BaseCommand):
    help = (
        "Create a tenant API token for a user and print only the token. Send it "
        "as 'Authorization: Token <token>'. Only a hash of it is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--expires-in",
            type=int,
            default=30,
            metavar="DAYS",
            help="days until the token expires (default: 30)",
        )

    def handle(self, *args, username, expires_in, **options):
        if not 1 <= expires_in <= 366:
            raise CommandError(
                f"Invalid --expires-in {expires_in}. Give a number of days from 1 "
                "to 366."
            )
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if tenant_of(user) is None:
            raise CommandError(
                f"User {username!r} belongs to no tenant, so its token could reach "
                "no agent or policy. Create the user with 'manage.py create_tenant'."
            )
        _, token = AuthToken.objects.create(
            user=user, expiry=timedelta(days=expires_in)
        )
        self.stdout.write(token)
