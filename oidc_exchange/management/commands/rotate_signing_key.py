from django.core.management.base import BaseCommand

from oidc_exchange.signing import rotate_signing_key


class Command(BaseCommand):
    help = (
        "Make a new active signing key and retire the old one. Retired keys stay "
        "in the JWKS until the tokens they signed have expired."
    )

    def handle(self, *args, **options):
        key = rotate_signing_key()
        self.stdout.write(f"New active signing key: {key.kid}")
