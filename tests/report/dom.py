"""Just enough of an HTML reader for structure assertions (stdlib ``html.parser``).

Collects every element with its attributes and the text directly inside it,
so tests can ask "which lanes are drawn", "does every violation link resolve"
without a browser. The browser test checks the same things after scripts ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)
    parents: tuple[str, ...] = ()

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def content(self) -> str:
        return "".join(self.text)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []
        self.all_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs},
                     parents=tuple(e.attrs.get("id", e.tag) for e in self.stack))
        self.elements.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs},
                                     parents=tuple(e.attrs.get("id", e.tag)
                                                   for e in self.stack)))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        for el in self.stack:
            el.text.append(data)
        self.all_text.append(data)


@dataclass
class Page:
    elements: list[Element]
    text: str

    @classmethod
    def read(cls, path: Path) -> Page:
        reader = _Reader()
        reader.feed(Path(path).read_text("utf-8"))
        return cls(reader.elements, "".join(reader.all_text))

    def ids(self) -> set[str]:
        return {e.attrs["id"] for e in self.elements if "id" in e.attrs}

    def by_class(self, cls: str, tag: str | None = None) -> list[Element]:
        return [e for e in self.elements if cls in e.classes and (tag is None or e.tag == tag)]

    def by_id(self, ident: str) -> Element:
        return next(e for e in self.elements if e.attrs.get("id") == ident)

    def by_tag(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]
