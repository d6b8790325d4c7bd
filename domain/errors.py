"""The domain's error tree; the api maps each class to a status and a stable code in one table."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Code(StrEnum):
    """Every error code the engine answers, in one place: a problem's `code` and a field error's `code` are
    stable strings a client may switch on (docs/errors.md lists what each means)."""

    ACTIVE_PLAN_EXISTS = "active_plan_exists"
    ASSIGNMENT_ENDED = "assignment_ended"
    BAD_OPERATOR = "bad_operator"
    BAD_RANGE = "bad_range"
    BAD_REQUEST = "bad_request"
    BANDS_OVERLAP = "bands_overlap"
    BEFORE_START = "before_start"
    CONCURRENT_CHANGE = "concurrent_change"
    CONFLICT = "conflict"
    DATABASE_UNAVAILABLE = "database_unavailable"
    DOMAIN_ERROR = "domain_error"
    DUPLICATE_COLUMN = "duplicate_column"
    DUPLICATE_EXTERNAL_ID = "duplicate_external_id"
    DUPLICATE_IN_FILE = "duplicate_in_file"
    DUPLICATE_NAME = "duplicate_name"
    END_BEFORE_START = "end_before_start"
    FORBIDDEN = "forbidden"
    HTTP_ERROR = "http_error"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENT_REQUEST_RUNNING = "idempotent_request_running"
    IMPORT_FAILED = "import_failed"
    INCOMPLETE_THRESHOLDS = "incomplete_thresholds"
    INTERNAL_ERROR = "internal_error"
    INVALID_BOOLEAN = "invalid_boolean"
    INVALID_BOUNDARY = "invalid_boundary"
    INVALID_CHOICE = "invalid_choice"
    INVALID_CSV = "invalid_csv"
    INVALID_DATE = "invalid_date"
    INVALID_DATETIME = "invalid_datetime"
    INVALID_FILE = "invalid_file"
    INVALID_NUMBER = "invalid_number"
    INVALID_PAGE_TOKEN = "invalid_page_token"
    INVALID_ROW = "invalid_row"
    INVALID_RULE = "invalid_rule"
    INVALID_SETTINGS = "invalid_settings"
    INVALID_TYPE = "invalid_type"
    INVALID_URL = "invalid_url"
    INVALID_VALUE = "invalid_value"
    MALFORMED_JSON = "malformed_json"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    MISSING_COLUMN = "missing_column"
    NEGATIVE_WEIGHT = "negative_weight"
    NO_ACTIVE_PLAN = "no_active_plan"
    NO_FACTOR = "no_factor"
    NOT_ASCENDING = "not_ascending"
    NOT_FOUND = "not_found"
    NOT_READY = "not_ready"
    NOT_SCORED = "not_scored"
    NULL_NOT_ALLOWED = "null_not_allowed"
    NUL_CHARACTER = "nul_character"
    OPERATION_FINISHED = "operation_finished"
    OPERATION_LOST = "operation_lost"
    OTHER_PLAN = "other_plan"
    OUT_OF_RANGE = "out_of_range"
    OWNER_EXISTS = "owner_exists"
    PARENT_CYCLE = "parent_cycle"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    PLAN_ARCHIVED = "plan_archived"
    PLAN_NOT_DRAFT = "plan_not_draft"
    PRECONDITION_FAILED = "precondition_failed"
    PRECONDITION_REQUIRED = "precondition_required"
    RATE_LIMITED = "rate_limited"
    REP_DEPARTED = "rep_departed"
    DISPUTE_EXISTS = "dispute_exists"
    DISPUTE_STATE = "dispute_state"
    REPLAY_RUNNING = "replay_running"
    REQUIRED = "required"
    ROLE_NOT_FOR_CLAIM = "role_not_for_claim"
    RULE_VIOLATION = "rule_violation"
    TERRITORY_NOT_EMPTY = "territory_not_empty"
    TIERS_OVERLAP = "tiers_overlap"
    TOO_LONG = "too_long"
    TOO_MANY_ROWS = "too_many_rows"
    TOO_MANY_VALUES = "too_many_values"
    UNAUTHORIZED = "unauthorized"
    UNKNOWN_FIELD = "unknown_field"
    UNKNOWN_KIND = "unknown_kind"
    UNKNOWN_REFERENCE = "unknown_reference"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    VALIDATION_FAILED = "validation_failed"


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
    code: str = Code.DOMAIN_ERROR
    retry_after_seconds: int | None = None  # when sending the same request again may succeed

    def __init__(self, detail: str, errors: list[FieldError] | None = None, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        if code:
            self.code = code


class NotFound(DomainError):
    code = Code.NOT_FOUND


class Conflict(DomainError):
    code = Code.CONFLICT


class ConcurrentChange(Conflict):
    """Another change to the same data ran at the same time (a serialization failure, a deadlock); nothing
    was written, and the same request may succeed if sent again."""

    code = Code.CONCURRENT_CHANGE
    retry_after_seconds = 1

    @classmethod
    def meanwhile(cls, what: str) -> ConcurrentChange:
        """A versioned write that found `what` changed by another request between its read and its write."""
        return cls(f"another request changed {what} at the same time; nothing was written")


class PreconditionFailed(DomainError):
    """The resource is no longer at the version the change names (If-Match, expectedVersion): someone
    changed it since it was read. Nothing was written; read it again and decide."""

    code = Code.PRECONDITION_FAILED


class PreconditionRequired(DomainError):
    """The tenant requires every change to name the version it was made against, and this one names none."""

    code = Code.PRECONDITION_REQUIRED


class ValidationFailed(DomainError):
    code = Code.VALIDATION_FAILED


class RuleViolation(DomainError):
    """A domain rule refuses the change (a parent cycle, a second active plan, ...)."""

    code = Code.RULE_VIOLATION


class Unavailable(DomainError):
    """A dependency (the database) cannot be reached; retry later. Nothing was changed."""

    code = Code.DATABASE_UNAVAILABLE
