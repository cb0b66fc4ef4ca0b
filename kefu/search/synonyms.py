"""Synonym groups applied at query time: seeded defaults plus the admin-edited `search_synonyms` rows.

A group's terms are analysed like any text; a query term found in a group matches every term of the
group, scored as one concept (summed term frequency, the rarest member's weight), so a synonym
never counts twice. Multi-word entries ("google authenticator") are kept when they analyse to one term.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import Actor
from kefu.core.errors import InvalidInput
from kefu.core.ids import new_id
from kefu.db.cache import ConfigCache
from kefu.search.models import SearchSynonym
from kefu.search.normalize import analyze

LOCALES: Final = ("zh-CN", "en")
MAX_GROUPS: Final = 500
MAX_GROUP_TERMS: Final = 20
MAX_TERM_LENGTH: Final = 40

DEFAULT_SYNONYMS: Final[Mapping[str, tuple[tuple[str, ...], ...]]] = {
    "zh-CN": (
        ("提现", "提币", "出金"),
        ("充值", "充币", "入金", "存币"),
        ("冻结", "锁定", "封号", "锁住"),
        ("解冻", "解锁", "解封"),
        ("客服", "支持", "人工", "人工客服", "在线客服"),
        ("谷歌验证器", "身份验证器", "验证器", "google验证器", "2fa", "二次验证", "双重验证"),
        ("登录", "登陆", "登入"),
        ("账户", "账号", "帐号"),
        ("到账", "入账", "到帐"),
        ("实名认证", "身份认证", "kyc", "实名"),
        ("手续费", "费用", "费率"),
        ("注销", "销户", "删除账户"),
        ("合约", "期货", "永续"),
        ("强平", "爆仓", "强制平仓"),
        ("被盗", "盗号", "黑客"),
        ("诈骗", "骗子", "骗局", "假客服"),
        ("工单", "请求", "申请单"),
        ("app", "应用", "客户端"),
        ("短信", "手机验证码"),
        ("额度", "限额", "上限"),
        ("赎回", "取出"),
        ("撤单", "撤销", "取消"),
        ("止盈", "止赢"),
        ("谷歌", "谷哥", "google"),
    ),
    "en": (
        ("withdraw", "withdrawal", "cash out", "payout"),
        ("deposit", "top up", "topup", "fund"),
        ("locked", "frozen", "freeze", "blocked", "suspended"),
        ("2fa", "authenticator", "two-factor", "mfa", "otp"),
        ("support", "help", "agent", "customer service"),
        ("login", "sign in", "signin", "log in"),
        ("kyc", "identity verification", "verification"),
        ("fee", "fees", "charge", "cost"),
        ("delete", "close", "deletion"),
        ("hacked", "compromised", "stolen"),
        ("scam", "fraud", "scammer", "impersonation"),
        ("ticket", "request", "case"),
        ("app", "application"),
        ("sms", "text message"),
        ("limit", "cap", "maximum"),
        ("crypto", "coin", "token"),
        ("cancel", "cancelled", "canceled"),
        ("futures", "perpetual", "perp"),
        ("liquidation", "liquidated"),
        ("referral", "invite", "refer"),
        ("password", "pwd", "passcode"),
    ),
}

# Other processes pick up an admin's change within `ttl` seconds (this one at once).
_cache: ConfigCache[tuple[frozenset[str], ...]] = ConfigCache("search_synonyms", ttl=5.0)


@dataclass(frozen=True)
class SynonymList:
    """The synonym groups of a locale as admins wrote them; `is_default` until a list is saved."""

    locale: str
    groups: list[list[str]]
    is_default: bool


def analyze_group(terms: Iterable[str]) -> frozenset[str]:
    """The search terms of one synonym group (entries that do not analyse to one term are dropped)."""
    found: set[str] = set()
    for entry in terms:
        analysed = analyze(entry)
        if len(analysed) == 1:
            found.add(analysed[0])
        elif len(analysed) > 1:
            found.add(" ".join(analysed))  # kept whole: a phrase never equals a single query term
    return frozenset(t for t in found if " " not in t)


def default_groups(locale: str) -> tuple[frozenset[str], ...]:
    """The seeded groups of a locale, analysed."""
    return tuple(g for g in (analyze_group(raw) for raw in DEFAULT_SYNONYMS.get(locale, ())) if len(g) > 1)


async def _load(session: AsyncSession, locale: str) -> tuple[frozenset[str], ...]:
    rows = (await session.scalars(select(SearchSynonym.terms).where(SearchSynonym.locale == locale))).all()
    if not rows:
        return default_groups(locale)
    return tuple(g for g in (analyze_group(terms) for terms in rows) if len(g) > 1)


async def get_synonym_groups(session: AsyncSession, locale: str) -> tuple[frozenset[str], ...]:
    """The analysed synonym groups of `locale` (the defaults until an admin saves a list), cached."""

    async def load(s: AsyncSession) -> tuple[frozenset[str], ...]:
        return await _load(s, locale)

    return await _cache.get(session, locale, load)


def check_locale(locale: str) -> str:
    """`locale` if the help center has it, else InvalidInput."""
    if locale not in LOCALES:
        raise InvalidInput("unknown locale", fields={"locale": "must be en or zh-CN"})
    return locale


def check_synonym_groups(groups: Sequence[Sequence[str]]) -> list[list[str]]:
    """Validated groups: at most 500, each 2-20 distinct trimmed terms of 1-40 characters, no NUL."""
    if len(groups) > MAX_GROUPS:
        raise InvalidInput(f"at most {MAX_GROUPS} synonym groups", fields={"groups": "too many"})
    clean: list[list[str]] = []
    for position, group in enumerate(groups):
        if isinstance(group, str) or len(group) > MAX_GROUP_TERMS:
            raise InvalidInput(
                "each synonym group needs 2-20 terms", fields={f"groups.{position}": "2-20 terms"}
            )
        terms = list(dict.fromkeys(str(t).strip() for t in group))
        if not 2 <= len(terms) <= MAX_GROUP_TERMS or any(
            not 1 <= len(t) <= MAX_TERM_LENGTH or not t.isprintable() for t in terms
        ):
            raise InvalidInput(
                "each synonym group needs 2-20 distinct terms of 1-40 printable characters",
                fields={f"groups.{position}": "2-20 distinct terms of 1-40 printable characters"},
            )
        clean.append(terms)
    return clean


async def list_synonyms(session: AsyncSession, locale: str) -> SynonymList:
    """The synonym groups of `locale` as written (the defaults when no list was saved)."""
    rows = (
        await session.scalars(
            select(SearchSynonym.terms).where(SearchSynonym.locale == locale).order_by(SearchSynonym.id)
        )
    ).all()
    if not rows:
        return SynonymList(locale, [list(g) for g in DEFAULT_SYNONYMS.get(locale, ())], is_default=True)
    return SynonymList(locale, [list(terms) for terms in rows if terms], is_default=False)


async def do_replace_synonyms(
    session: AsyncSession, locale: str, groups: Sequence[Sequence[str]], *, actor: Actor | None = None
) -> list[list[str]]:
    """Replace the synonym list of `locale` (supervisors); applies at query time, so no reindex.

    Takes effect in this process at once and in others within the cache's ttl. An empty list is
    kept as one empty marker row, so "no synonyms" does not fall back to the defaults.
    """
    check_locale(locale)
    clean = check_synonym_groups(groups)
    await session.execute(delete(SearchSynonym).where(SearchSynonym.locale == locale))
    ids = sorted(new_id() for _ in range(max(1, len(clean))))  # listed back in the order given
    session.add_all(
        SearchSynonym(id=i, locale=locale, terms=terms) for i, terms in zip(ids, clean or [[]], strict=True)
    )
    if actor is not None:
        await record_audit(
            session, action="search.synonyms_replaced", actor=actor, target_type="search_synonyms",
            target_id=locale, details={"group_count": len(clean)},
        )  # fmt: skip
    await session.flush()
    _cache.invalidate_after_commit(session)
    return clean


async def do_seed_synonyms(session: AsyncSession) -> None:
    """Store the default groups for every locale that has none yet (demo set-up, first start)."""
    for locale in LOCALES:
        present = await session.scalar(
            select(SearchSynonym.id).where(SearchSynonym.locale == locale).limit(1)
        )
        if present is None:
            await do_replace_synonyms(session, locale, [list(g) for g in DEFAULT_SYNONYMS[locale]])
