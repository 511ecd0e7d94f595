"""URL routes. Paths have no trailing slash and match exactly as written."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from agents.views import AgentViewSet
from oidc_exchange import health
from oidc_exchange import views as exchange_views
from policies.views import TrustPolicyViewSet

router = DefaultRouter(trailing_slash=False)
router.include_root_view = False
router.register("agents", AgentViewSet, basename="agent")
router.register("oidc/trust-policies", TrustPolicyViewSet, basename="trust-policy")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api-auth/", include("rest_framework.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"
    ),
    path("oidc/token", exchange_views.TokenExchangeView.as_view(), name="token"),
    path("oidc/agents", exchange_views.RegistrationView.as_view(), name="registration"),
    path(
        "oidc/introspect", exchange_views.IntrospectionView.as_view(), name="introspect"
    ),
    path("oidc/revoke", exchange_views.RevocationView.as_view(), name="revoke"),
    path("healthz", health.liveness, name="liveness"),
    path("readyz", health.readiness, name="readiness"),
    path("oidc/audience", exchange_views.AudienceView.as_view(), name="audience"),
    path(".well-known/jwks.json", exchange_views.JwksView.as_view(), name="jwks"),
    path(
        ".well-known/oauth-authorization-server",
        exchange_views.MetadataView.as_view(),
        name="oauth-metadata",
    ),
    path("", include(router.urls)),
]
