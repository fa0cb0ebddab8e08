"""Keeps Forja's own secrets out of what models see, what they write, and what we log.

Secrets are collected from the environment by name (preview_runtime.common.SECRET_NAME: KEY,
TOKEN, SECRET, PASSWORD, DSN, DATABASE_URL...) plus well-known key shapes, so a key pasted into a
prompt is caught as well.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from builder.generation.providers.stored import stored_keys
from builder.settings import settings
from preview_runtime.common import SECRET_NAME

REDACTED = "[redacted]"
_KEY_SHAPES = re.compile(
    r"sk-ant-[A-Za-z0-9_\-]{16,}|sk-(?:proj-)?[A-Za-z0-9_\-]{20,}|ghp_[A-Za-z0-9]{20,}|xox[abp]-[A-Za-z0-9\-]{10,}|AKIA[0-9A-Z]{16}"
)
# Short values (a PORT of "3000", a flag of "1") would redact harmless text.
_MIN_SECRET_LENGTH = 8


@lru_cache(maxsize=1)
def secret_values() -> tuple[str, ...]:
    values = {value for name, value in os.environ.items() if SECRET_NAME.search(name) and len(value) >= _MIN_SECRET_LENGTH}
    values |= {
        v
        for v in (settings.anthropic_api_key, settings.openai_api_key, settings.database_url, settings.secret_key)
        if len(v) >= _MIN_SECRET_LENGTH
    }
    # Longest first, so a secret containing another is replaced whole.
    return tuple(sorted(values, key=len, reverse=True))


def redact(text: str) -> str:
    # The keys of connected models are read at each request (they change without a restart): not cached above.
    for value in (*secret_values(), *sorted(stored_keys(), key=len, reverse=True)):
        if value in text:
            text = text.replace(value, REDACTED)
    return _KEY_SHAPES.sub(REDACTED, text)


def contains_secret(text: str) -> bool:
    return redact(text) != text
