"""Search snippets become text pieces the template escapes: only real highlights are marked."""

from __future__ import annotations

from kefu.web.helpcenter.search import SnippetPart, snippet_parts


def test_marks_become_parts_and_escaped_text_is_plain() -> None:
    parts = snippet_parts("…a &lt;mark&gt;x&lt;/mark&gt; <mark>Locked</mark> &amp; <mark>锁定</mark>…")
    assert parts == [
        SnippetPart("…a <mark>x</mark> ", False),
        SnippetPart("Locked", True),
        SnippetPart(" & ", False),
        SnippetPart("锁定", True),
        SnippetPart("…", False),
    ]


def test_empty_snippet() -> None:
    assert snippet_parts("") == []
