from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from oidc_exchange.models import ExchangeRecord, RevokedToken, UsedToken


class Command(BaseCommand):
    help = (
        "Delete exchange records older than DAYS, replay entries of GitHub tokens "
        "that have expired, and revocations of expired access tokens. Safe to run "
        "while the service serves."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")

    def handle(self, *args, older_than, **options):
        if older_than < 1:
            raise CommandError(
                f"Invalid --older-than {older_than}. Give a number of days, 1 or more."
            )
        now = timezone.now()
        records, _ = ExchangeRecord.objects.filter(
            created_at__lt=now - timedelta(days=older_than)
        ).delete()
        # An expired GitHub token is refused for its expiry before its jti is
        # looked up, so its replay entry is no longer needed.
        used, _ = UsedToken.objects.filter(
            expires_at__lt=now - timedelta(hours=1)
        ).delete()
        # A revoked access token that has expired fails verification anyway.
        revoked, _ = RevokedToken.objects.filter(expires_at__lt=now).delete()
        self.stdout.write(
            f"Deleted {records} exchange records, {used} replay entries and "
            f"{revoked} revocations of expired tokens."
        )
