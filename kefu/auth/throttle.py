"""Failed sign-in counters per account and per client address, with temporary lockouts.

Failures are written in their own short transaction: the request that failed is about to roll back
(it raises NotAuthenticated), and a lockout that vanished with that rollback would protect nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.models import MAX_EMAIL_LENGTH, MAX_IP_LENGTH, LoginThrottle
from kefu.auth.service import strip_controls
from kefu.core.clock import utcnow
from kefu.core.errors import RateLimited
from kefu.core.ids import new_id
from kefu.db.upsert import insert_or_ignore
from kefu.settings import Settings


def account_key(email: str) -> str:
    """The throttle key of an account; unknown emails get one too, so lockouts reveal nothing."""
    return "account:" + strip_controls(email).strip().lower()[:MAX_EMAIL_LENGTH]


def ip_key(ip: str) -> str:
    """The throttle key of a client address."""
    return "ip:" + strip_controls(ip).strip()[:MAX_IP_LENGTH]


@dataclass(frozen=True)
class ThrottleRule:
    key: str
    max_failures: int


def login_rules(settings: Settings, *, email: str, ip: str | None) -> list[ThrottleRule]:
    """The counters a password attempt for `email` from `ip` is charged to."""
    rules = [ThrottleRule(account_key(email), settings.login_max_failures_per_account)]
    if ip:
        rules.append(ThrottleRule(ip_key(ip), settings.login_max_failures_per_ip))
    return rules


def account_rules(settings: Settings, email: str) -> list[ThrottleRule]:
    """The counter for attempts on one account alone (second factor, re-authentication)."""
    return [ThrottleRule(account_key(email), settings.login_max_failures_per_account)]


def lockout_error(locked_until: datetime, now: datetime) -> RateLimited:
    """The error shown while locked out, with the wait rounded up to whole minutes."""
    seconds = max(1, math.ceil((locked_until - now).total_seconds()))
    minutes = max(1, math.ceil(seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return RateLimited(
        f"Too many failed sign-in attempts. Try again in {minutes} {unit}.", retry_after=seconds
    )


async def check_not_locked(session: AsyncSession, keys: list[str]) -> None:
    """Raise RateLimited if any of `keys` is locked out now."""
    now = utcnow()
    rows = await session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))
    latest = max((r.locked_until for r in rows if r.locked_until and r.locked_until > now), default=None)
    if latest is not None:
        raise lockout_error(latest, now)


async def _charge(session: AsyncSession, rule: ThrottleRule, *, settings: Settings) -> datetime | None:
    now = utcnow()
    window = timedelta(minutes=settings.login_lockout_minutes)
    values = {"id": new_id(), "key": rule.key, "failures": 0, "window_started_at": now}
    # Insert-if-missing then lock the row, so concurrent failures are all counted on PostgreSQL
    # (SQLite serialises writers anyway).
    await session.execute(insert_or_ignore(session, LoginThrottle), values)
    row = (
        await session.scalars(
            select(LoginThrottle)
            .where(LoginThrottle.key == rule.key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    if row.locked_until is not None and row.locked_until > now:
        return None
    if row.window_started_at + window <= now or row.locked_until is not None:
        row.failures, row.window_started_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= rule.max_failures:
        row.locked_until = now + window
        return row.locked_until
    return None


async def charge_failures(
    own: AsyncSession, rules: list[ThrottleRule], *, settings: Settings
) -> list[tuple[str, datetime]]:
    """Count one failure against each rule (use an `independent_transaction`); returns new lockouts."""
    locked: list[tuple[str, datetime]] = []
    for rule in rules:
        until = await _charge(own, rule, settings=settings)
        if until is not None:
            locked.append((rule.key, until))
    return locked


async def clear_failures(session: AsyncSession, key: str) -> None:
    """Forget the failures of `key` (after a complete sign-in); part of the caller's transaction."""
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
