"""Versions and preconditions (docs/http.md, "Versions").

Every resource a client can change carries a version: 1 when created, one more with every change, however
it was made (an edit, an import, an activation). A change may name the versions it was made against (REST
`If-Match`, GraphQL `expectedVersion`); if the resource has moved on, the change is refused and nothing is
written, so two clients editing the same record never silently overwrite each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import PreconditionFailed, PreconditionRequired


@dataclass(frozen=True)
class Precondition:
    """The versions a change was made against; `any_version` is If-Match's `*` (the resource exists)."""

    versions: frozenset[int] = frozenset()
    any_version: bool = False

    @classmethod
    def exactly(cls, version: int) -> Precondition:
        return cls(frozenset({version}))

    def holds(self, version: int) -> bool:
        return self.any_version or version in self.versions


def check_precondition(precondition: Precondition | None, version: int, what: str, required: bool) -> None:
    """Refuse a change whose precondition the resource (at `version`) no longer meets, or one that names no
    version when the tenant requires it."""
    if precondition is None:
        if required:
            raise PreconditionRequired(
                f"this tenant requires every change to name the {what}'s version it was made against "
                f'(If-Match: "{version}" or expectedVersion)'
            )
        return
    if not precondition.holds(version):
        if not precondition.versions:  # RFC 9110: a list that matches nothing fails, but say why
            raise PreconditionFailed(
                f"the {what} is at version {version}; the precondition names no version of ours "
                f'(send the ETag you read, e.g. If-Match: "{version}")'
            )
        named = ", ".join(str(v) for v in sorted(precondition.versions))
        raise PreconditionFailed(
            f"the {what} is at version {version}; the change was made against version {named}: "
            "read it again and decide"
        )
