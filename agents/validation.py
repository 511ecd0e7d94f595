"""Rules for agent fields, applied by the model, and so by the API, the admin
and registration from CI alike."""

import re

from django.core.exceptions import ValidationError

# A letter or digit, then letters, digits, '.', '_' or '-': safe in URLs, logs
# and workflow files without quoting.
AGENT_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def validate_agent_name(value: str) -> None:
    if AGENT_NAME_PATTERN.fullmatch(value) is None:
        raise ValidationError(
            f"Invalid agent name {value!r}. Use up to 100 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit, such as 'release-bot'.",
            code="invalid_agent_name",
        )
