from django.apps import AppConfig


class OidcExchangeConfig(AppConfig):
    name = "oidc_exchange"
    verbose_name = "OIDC token exchange"
