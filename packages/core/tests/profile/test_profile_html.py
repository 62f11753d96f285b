"""The HTML page: self-contained, no scripts, every value from the data escaped."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import numpy as np
import pandas as pd

from mlsmith.core.profile import profile_frame, render_html

EVIL = "<script>alert(1)</script>"
EVIL_VALUE = '<img src=x onerror="alert(2)">'


def _page(target: str | None = None) -> str:
    n = 60
    df = pd.DataFrame(
        {
            EVIL: np.arange(n, dtype=float),
            "category": [EVIL if i % 2 else EVIL_VALUE for i in range(n)],
            "y": [EVIL_VALUE if i % 3 else "ok" for i in range(n)],
        }
    )
    return render_html(profile_frame(df, target=target), title=EVIL).decode("utf-8")


def test_column_names_and_category_values_appear_escaped_never_raw():
    page = _page(target="y")
    assert EVIL not in page and EVIL_VALUE not in page
    assert html.escape(EVIL) in page
    assert html.escape(EVIL_VALUE) in page
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            self.attrs.add(name)
            if name == "style":
                self.styles.append(value or "")


def test_page_is_self_contained_without_scripts_or_external_resources():
    page = _page(target="y")
    assert page.startswith("<!DOCTYPE html>")
    parser = _Tags()
    parser.feed(page)
    assert "style" in parser.tags
    assert parser.tags.isdisjoint({"script", "link", "img", "iframe", "object", "embed", "base"})
    assert parser.attrs <= {"lang", "charset", "name", "content", "class", "style", "title"}
    assert parser.styles and all("url(" not in s for s in parser.styles)
    style_block = page[page.index("<style>") : page.index("</style>")]
    assert "url(" not in style_block and "@import" not in style_block


def test_page_shows_the_numbers():
    df = pd.DataFrame({"a": [1.0, 2.0, None, 4.0], "b": ["x", "x", "y", None]})
    page = render_html(profile_frame(df), title="t").decode()
    assert "Correlations" not in page  # a single numeric column has none
    assert "25.0%" in page  # missing share of each column
    assert ">x<" in page and ">2<" in page  # top value and its count
