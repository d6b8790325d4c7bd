"""The domain's error tree; the api maps each class to a status and a stable code in one table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str
    row: int | None = None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"field": self.field, "code": self.code, "message": self.message}
        if self.row is not None:
            data = {"row": self.row, **data}
        return data


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, detail: str, errors: list[FieldError] | None = None, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class ValidationFailed(DomainError):
    code = "validation_failed"


class RuleViolation(DomainError):
    """A domain rule refuses the change (a parent cycle, a second active plan, ...)."""

    code = "rule_violation"


class Unavailable(DomainError):
    """A dependency (the database) cannot be reached; retry later. Nothing was changed."""

    code = "database_unavailable"
