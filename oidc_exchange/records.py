"""The exchange log: one record for every attempt, accepted or not."""

import logging
from typing import Any

from django.db import DatabaseError

from oidc_exchange.errors import ExchangeError
from oidc_exchange.models import ExchangeRecord

logger = logging.getLogger(__name__)
security_logger = logging.getLogger("sentryagent.security")

# Claims copied from the token into the record, by record field.
_CLAIM_FIELDS = {
    "issuer": "iss",
    "subject": "sub",
    "repository": "repository",
    "repository_id": "repository_id",
    "ref": "ref",
    "sha": "sha",
    "event_name": "event_name",
    "run_id": "run_id",
    "github_jti": "jti",
}


class Attempt:
    """Collects what is known of one attempt while it runs, then saves it."""

    def __init__(self, endpoint: str, request, client_address: str | None) -> None:
        self.record = ExchangeRecord(
            endpoint=endpoint,
            client_address=client_address,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:256],
        )

    def add_claims(self, claims: dict[str, Any]) -> None:
        """Copy claims into the record; unverified claims are fine to log."""
        for field_name, claim in _CLAIM_FIELDS.items():
            value = claims.get(claim)
            if isinstance(value, str):
                max_length = ExchangeRecord._meta.get_field(field_name).max_length
                setattr(self.record, field_name, value[:max_length])

    def set(self, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self.record, name, value)

    def accept(self, status_code: int) -> None:
        self.record.outcome = ExchangeRecord.Outcome.ACCEPTED
        self.record.status_code = status_code
        self.record.reason = "accepted"
        self._save()
        logger.info(
            "exchange accepted endpoint=%s agent=%s repository=%s run_id=%s "
            "issued_jti=%s",
            self.record.endpoint,
            self.record.agent_id,
            self.record.repository,
            self.record.run_id,
            self.record.issued_jti,
        )

    def reject(self, error: ExchangeError) -> None:
        self.record.outcome = (
            ExchangeRecord.Outcome.ERROR
            if error.status_code >= 500
            else ExchangeRecord.Outcome.DENIED
        )
        self.record.status_code = error.status_code
        self.record.reason = error.reason
        self.record.detail_reason = error.detail_reason
        self._save()
        security_logger.warning(
            "exchange denied endpoint=%s status=%s reason=%s detail=%s "
            "repository=%s github_jti=%s client=%s",
            self.record.endpoint,
            error.status_code,
            error.reason,
            error.detail_reason,
            self.record.repository,
            self.record.github_jti,
            self.record.client_address,
        )

    def _save(self) -> None:
        try:
            self.record.save()
        except DatabaseError:
            logger.exception(
                "exchange record not saved endpoint=%s reason=%s",
                self.record.endpoint,
                self.record.reason,
            )
