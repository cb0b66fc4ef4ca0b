"""The public "Is this really us?" page: paste a link, address, number or account, read the verdict.

A plain GET form, so it works without JavaScript and the answer has a URL people can share. Without a
value the page is the same for everyone (briefly cacheable); with one it shows what that reader
pasted and is never stored. Not official and impersonation answers offer "Report this impersonator",
which opens a security request with the value filled in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import Response

from kefu.channels.links import channel_url
from kefu.channels.verify import MAX_VALUE_LENGTH, Verdict, VerdictKind, has_control_characters, verify
from kefu.web.deps import DbSession
from kefu.web.helpcenter.context import HC_PREFIX, HelpCenter, HelpCenterDep
from kefu.web.verify_words import (
    ReasonText,
    entry_display,
    entry_label,
    kind_names,
    reason_texts,
    verdict_texts,
)

router = APIRouter()

# The security form's `suspicious_contact` holds at most this much (kefu.conversations.forms.Text).
REPORT_VALUE_MAX: Final = 2000


@dataclass(frozen=True)
class ResultView:
    """A verdict as the page words it."""

    verdict: str
    name: str
    sentence: str
    kind: str | None
    canonical: str | None
    unicode: str | None
    matched_label: str | None
    matched_display: str | None
    matched_url: str | None
    reasons: list[ReasonText]
    report_url: str | None


def result_view(hc: HelpCenter, verdict: Verdict) -> ResultView:
    """What the result box shows for `verdict` in the page's language."""
    t = hc.t
    name, sentence = verdict_texts(t)[verdict.verdict]
    matched = verdict.matched
    report_url = None
    if verdict.verdict != VerdictKind.OFFICIAL:
        contact = verdict.value[:REPORT_VALUE_MAX]
        query = urlencode({"category": "security", "suspicious_contact": contact})
        report_url = hc.url(f"/requests/new?{query}")
    return ResultView(
        verdict=verdict.verdict.value,
        name=name,
        sentence=sentence,
        kind=kind_names(t).get(verdict.kind) if verdict.kind else None,
        canonical=verdict.canonical if verdict.canonical != verdict.value else None,
        unicode=verdict.unicode,
        matched_label=entry_label(t, matched) if matched else None,
        matched_display=entry_display(matched) if matched else None,
        matched_url=channel_url(matched.kind, matched.value) if matched else None,
        reasons=reason_texts(t, verdict),
        report_url=report_url,
    )


def _problem(hc: HelpCenter, value: str) -> str | None:
    """Why `value` cannot be checked, in the page's language; None when it can."""
    if len(value) > MAX_VALUE_LENGTH:
        return hc.t.gettext(
            "That is too long to check. Paste at most %(num)d characters.", num=MAX_VALUE_LENGTH
        )
    if has_control_characters(value):
        return hc.t.gettext("Paste the value on one line, without control characters.")
    return None


@router.get(HC_PREFIX + "/{locale}/verify")
async def verify_page(
    hc: HelpCenterDep,
    session: DbSession,
    value: Annotated[str | None, Query()] = None,
) -> Response:
    """Anyone: the verify form, and the verdict on `value` when one is given."""
    text = (value or "").strip()
    if not text:
        return hc.render("hc/verify.html", value="", problem=None, result=None)
    problem = _problem(hc, text)
    if problem is not None:
        # Not echoed: it is long or holds characters that have no business in a page.
        return hc.render("hc/verify.html", status=422, public=False, value="", problem=problem, result=None)
    verdict = await verify(session, text)
    return hc.render(
        "hc/verify.html", public=False, value=text, problem=None, result=result_view(hc, verdict)
    )
