"""Admin pages for the exchange log and signing keys, and the full agent page.

The agent page shows the agent's trust policies and recent exchanges, so it
is assembled here, in the one app that may import agents, policies and the
exchange log.
"""

import uuid

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from agents import admin as agents_admin
from agents.admin import SuperuserOnlyAdmin, TenantScopedAdmin
from agents.models import Agent
from oidc_exchange.models import ExchangeRecord, SigningKey
from policies.admin import AgentPolicyInline
from policies.matching import FAILURE_REASONS
from policies.models import TrustPolicy

RECENT_EXCHANGES = 20  # rows on an agent's page

# Checks in the order matching runs them, because PostgreSQL's jsonb does not
# keep the key order of the stored checks.
CHECK_ORDER = {name: position for position, name in enumerate(FAILURE_REASONS)}


def _time(record: ExchangeRecord) -> str:
    return record.created_at.strftime("%Y-%m-%d %H:%M:%S")


def _outcome_badge(record: ExchangeRecord):
    colour = {
        ExchangeRecord.Outcome.ACCEPTED: "var(--message-success-bg)",
        ExchangeRecord.Outcome.DENIED: "var(--message-error-bg)",
        ExchangeRecord.Outcome.ERROR: "var(--message-warning-bg)",
    }.get(record.outcome, "transparent")
    return format_html(
        '<span style="background: {}; color: var(--body-fg); padding: 2px 6px; '
        'border-radius: 4px; white-space: nowrap">{} {}</span>',
        colour,
        record.outcome,
        record.status_code,
    )


def _outcome_and_endpoint(record: ExchangeRecord):
    return format_html(
        "{}<br><small>{}</small>",
        _outcome_badge(record),
        record.get_endpoint_display(),
    )


def _reason(record: ExchangeRecord):
    # The caller sees only ``reason``. The exact failed check is for the tenant.
    if record.detail_reason and record.detail_reason != record.reason:
        return format_html(
            "{}<br><small>failed check: {}</small>",
            record.reason,
            record.detail_reason,
        )
    return record.reason


def _record_url(record: ExchangeRecord) -> str:
    return reverse("admin:oidc_exchange_exchangerecord_change", args=[record.pk])


@admin.register(ExchangeRecord)
class ExchangeRecordAdmin(TenantScopedAdmin):
    """The exchange log, read-only."""

    list_display = [
        "time",
        "outcome_label",
        "reason_label",
        "repository",
        "ref_and_event",
        "run_id",
        "agent",
        "policy",
    ]
    list_filter = [
        "outcome",
        "reason",
        ("agent", admin.RelatedOnlyFieldListFilter),
        "endpoint",
    ]
    list_display_links = ["time"]
    list_select_related = ["agent", "policy", "tenant"]
    search_fields = ["repository", "run_id", "github_jti", "subject"]
    search_help_text = "Search by repository, run id, subject or GitHub token jti."
    date_hierarchy = "created_at"
    readonly_fields = ["time", "outcome_status", "reason_label", "checks_table"]

    def get_fieldsets(self, request, obj=None):
        result = ["agent", "requested_agent_id", "policy"]
        if request.user.is_superuser:
            result.insert(0, "tenant")
        return [
            (
                "Outcome",
                {
                    "fields": [
                        "time",
                        "endpoint",
                        "outcome_status",
                        "reason_label",
                        "checks_table",
                    ]
                },
            ),
            ("Agent and policy", {"fields": result}),
            (
                "Workflow (claims of the GitHub token)",
                {
                    "fields": [
                        "repository",
                        "repository_id",
                        "ref",
                        "sha",
                        "event_name",
                        "run_id",
                        "subject",
                        "issuer",
                        "github_jti",
                    ]
                },
            ),
            ("Issued access token", {"fields": ["issued_jti", "issued_expires_at"]}),
            ("Client", {"fields": ["client_address", "user_agent"]}),
        ]

    @admin.display(description="time (UTC)", ordering="created_at")
    def time(self, record: ExchangeRecord) -> str:
        return _time(record)

    @admin.display(description="ref and event", ordering="ref")
    def ref_and_event(self, record: ExchangeRecord):
        return format_html("{}<br><small>{}</small>", record.ref, record.event_name)

    @admin.display(description="outcome", ordering="outcome")
    def outcome_label(self, record: ExchangeRecord):
        return _outcome_and_endpoint(record)

    @admin.display(description="outcome")
    def outcome_status(self, record: ExchangeRecord):
        return _outcome_badge(record)

    @admin.display(description="reason", ordering="reason")
    def reason_label(self, record: ExchangeRecord):
        return _reason(record)

    @admin.display(description="policy checks")
    def checks_table(self, record: ExchangeRecord):
        entries = [entry for entry in record.checks if isinstance(entry, dict)]
        if not entries:
            return "No trust policy was evaluated."
        ids = {_uuid_or_none(entry.get("policy")) for entry in entries} - {None}
        policies = TrustPolicy.objects.select_related("agent").in_bulk(ids)
        rows = []
        hidden = 0
        for entry in entries:
            policy = policies.get(_uuid_or_none(entry.get("policy")))
            # Registration evaluates policies of every tenant. A tenant's log
            # shows only its own.
            if record.tenant_id is not None and (
                policy is None or policy.tenant_id != record.tenant_id
            ):
                hidden += 1
                continue
            rows.append(_policy_checks(entry, policy))
        if hidden:
            rows.append(
                format_html(
                    "<p>{} evaluated {} not shown: deleted, or of another tenant.</p>",
                    hidden,
                    "policy" if hidden == 1 else "policies",
                )
            )
        return format_html_join("", "{}", ((row,) for row in rows))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _policy_checks(entry: dict, policy: TrustPolicy | None):
    """Render one policy's checks as a small table, failed checks marked."""
    checks = entry.get("checks") or {}
    ordered = sorted(checks.items(), key=lambda item: CHECK_ORDER.get(item[0], 99))
    rows = format_html_join(
        "",
        '<tr><td>{}</td><td style="color: {}; font-weight: bold">{}</td></tr>',
        (
            (
                name,
                "var(--body-fg)" if passed else "var(--error-fg)",
                "passed" if passed else "FAILED",
            )
            for name, passed in ordered
        ),
    )
    if policy is None:
        title = format_html("policy {} (deleted)", entry.get("policy"))
    else:
        title = format_html(
            '<a href="{}">{}</a>',
            reverse("admin:policies_trustpolicy_change", args=[policy.pk]),
            f"{policy} for agent {policy.agent}" if policy.agent_id else policy,
        )
    return format_html(
        "<p><strong>{}</strong></p>"
        '<table style="margin-bottom: 12px"><thead><tr><th>check</th>'
        "<th>result</th></tr></thead><tbody>{}</tbody></table>",
        title,
        rows,
    )


@admin.register(SigningKey)
class SigningKeyAdmin(SuperuserOnlyAdmin, admin.ModelAdmin):
    """Signing keys, for superusers; the private key is never shown."""

    list_display = ["kid", "algorithm", "state", "created_at", "retired_at"]
    fields = ["kid", "algorithm", "state", "created_at", "retired_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False


class AgentAdmin(agents_admin.AgentAdmin):
    """The agent page with its trust policies and its recent exchanges."""

    inlines = [AgentPolicyInline]
    readonly_fields = [*agents_admin.AgentAdmin.readonly_fields, "recent_exchanges"]
    fieldsets = [
        *agents_admin.AgentAdmin.fieldsets,
        (
            f"Recent exchanges (last {RECENT_EXCHANGES})",
            {"fields": ["recent_exchanges"]},
        ),
    ]

    @admin.display(description="exchanges")
    def recent_exchanges(self, agent: Agent):
        if agent.pk is None or agent._state.adding:
            return "None yet."
        records = list(
            ExchangeRecord.objects.filter(agent=agent, tenant=agent.tenant_id).order_by(
                "-created_at"
            )[:RECENT_EXCHANGES]
        )
        if not records:
            return "None yet."
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td>'
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    _record_url(record),
                    _time(record),
                    _outcome_and_endpoint(record),
                    _reason(record),
                    record.repository,
                    record.ref,
                    record.event_name,
                    record.run_id,
                )
                for record in records
            ),
        )
        log_url = reverse("admin:oidc_exchange_exchangerecord_changelist")
        return format_html(
            "<table><thead><tr><th>time (UTC)</th><th>outcome</th><th>reason</th>"
            "<th>repository</th><th>ref</th><th>event</th><th>run id</th></tr>"
            '</thead><tbody>{}</tbody></table><p><a href="{}?agent__id__exact={}">'
            "All exchanges of this agent</a></p>",
            rows,
            log_url,
            agent.pk,
        )


admin.site.unregister(Agent)
admin.site.register(Agent, AgentAdmin)
