"""Key lifecycle rules: status, rotation expiry, the last admin key (domain/keys.py)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import Conflict
from domain.keys import ApiKey, KeyStatus, check_revocable, key_status, rotation_expiry, successor_expiry

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def key(scopes=("read",), expires_at=None, revoked_at=None) -> ApiKey:
    return ApiKey(
        id=uuid.uuid4(),
        tenant_id=uuid.UUID(int=1),
        name="k",
        prefix="te_abc",
        scopes=frozenset(scopes),
        created_at=NOW - timedelta(days=1),
        expires_at=expires_at,
        revoked_at=revoked_at,
    )


def test_status_says_revoked_before_expired_and_expiring_until_the_moment():
    assert key_status(None, None, NOW) is KeyStatus.ACTIVE
    assert key_status(NOW + timedelta(seconds=1), None, NOW) is KeyStatus.EXPIRING
    assert key_status(NOW, None, NOW) is KeyStatus.EXPIRED
    assert key_status(NOW - timedelta(days=1), NOW - timedelta(days=2), NOW) is KeyStatus.REVOKED


def test_rotation_ends_the_old_key_after_the_overlap_but_never_later_than_its_own_expiry():
    assert rotation_expiry(key(), NOW, 3600) == NOW + timedelta(hours=1)
    soon = NOW + timedelta(minutes=5)
    assert rotation_expiry(key(expires_at=soon), NOW, 3600) == soon
    assert rotation_expiry(key(), NOW, 0) == NOW


def test_a_key_made_to_expire_gives_its_successor_the_same_lifetime_at_most_the_cap():
    assert successor_expiry(key(), NOW, 3650) is None  # no expiry, none for the successor
    ninety = key(expires_at=NOW + timedelta(days=89))  # made a day ago for 90 days
    assert successor_expiry(ninety, NOW, 3650) == NOW + timedelta(days=90)
    assert successor_expiry(ninety, NOW, 30) == NOW + timedelta(days=30)


@pytest.mark.parametrize("ended", [{"revoked_at": NOW}, {"expires_at": NOW - timedelta(seconds=1)}])
def test_a_revoked_or_expired_key_cannot_be_rotated(ended):
    with pytest.raises(Conflict) as refused:
        rotation_expiry(key(**ended), NOW, 60)
    assert refused.value.code == "key_state"


def test_the_last_live_admin_key_is_kept_and_any_other_key_may_go():
    admin, reader = key(("admin",)), key(("read",))
    with pytest.raises(Conflict) as refused:
        check_revocable(admin, [admin, reader], NOW)
    assert refused.value.code == "last_admin_key"
    check_revocable(reader, [admin, reader], NOW)
    expired_admin = key(("admin",), expires_at=NOW - timedelta(seconds=1))
    with pytest.raises(Conflict):
        check_revocable(admin, [admin, expired_admin, key(("admin",), revoked_at=NOW)], NOW)
    check_revocable(admin, [admin, key(("admin", "read"), expires_at=NOW + timedelta(hours=1))], NOW)
    check_revocable(expired_admin, [expired_admin], NOW)  # an ended key protects nobody
