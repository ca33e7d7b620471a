"""The API reference rendered once: translated editions paste in the English build's HTML.

The docstrings stay English in every edition, yet mkdocstrings renders them again for each
one, and that was two fifths of the Chinese build's time. So the English build records, for
each ``::: identifier`` block, the HTML mkdocstrings made of it, the headings it reported for
the table of contents and the aliases of each heading (``.cache/api.json``). A translated
edition pastes that HTML in, with mkdocstrings' section labels ("Parameters:", "Name", …) in
its language, and registers the same anchors with mkdocs-autorefs, so cross-references still
resolve under ``--strict``. A block the record does not hold, or a record made from other
sources or options (the fingerprint differs), is rendered by mkdocstrings as before.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from xml.etree import ElementTree

from markdown import Markdown
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension

#: mkdocstrings' own block processor, which these wrap.
INNER = "mkdocstrings"
_PLACEHOLDER = re.compile(r"wzxhzdk:(\d+)")
_LABEL = re.compile(r'(<th>|<span class="doc-section-title">|<em>)([^<]+)(</th>|</span>|</em>)')


def fingerprint(root: Path, options: object) -> str:
    """What the recorded HTML depends on: the package's sources and the handlers' options."""
    digest = hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode())
    for path in sorted((root / "transconv").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def section_labels(lang: str) -> dict[str, str]:
    """mkdocstrings-python's English section labels mapped to ``lang``'s (none if it has none)."""
    from mkdocstrings_handlers import python

    languages = Path(python.__file__).parent / "templates" / "material" / "_base" / "languages"

    def table(name: str) -> dict[str, str]:
        path = languages / f"{name}.html.jinja"
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        return dict(re.findall(r'^\s*"([^"]+)"\s*:\s*"([^"]*)",?$', text, re.MULTILINE))

    english, other = table("en"), table(lang)
    return {english[k]: other[k] for k in english.keys() & other.keys() if other[k]}


def translate_labels(html: str, labels: dict[str, str]) -> str:
    """``html`` with the section titles and table headers mkdocstrings writes in ``labels``.

    Examples
    --------
    >>> translate_labels('<th>Name</th><span class="doc-section-title">Returns:</span>',
    ...                  {"Name": "名称", "Returns:": "返回："})
    '<th>名称</th><span class="doc-section-title">返回：</span>'
    """
    return _LABEL.sub(lambda m: m[1] + labels.get(m[2], m[2]) + m[3], html)


class ApiRecord:
    """The recorded blocks of one build: ``{block text: {html, headings, aliases}}``."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.blocks: dict[str, dict] = {}

    def load(self) -> ApiRecord:
        """The blocks recorded with this fingerprint (none if the record is from other sources)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return self
        if data.get("fingerprint") == self.fingerprint:
            self.blocks = data.get("blocks", {})
        return self

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"fingerprint": self.fingerprint, "blocks": self.blocks}
        self.path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


class _Reuse(BlockProcessor):
    """Records (English) or replays (a translation) what mkdocstrings makes of a block."""

    def __init__(self, md: Markdown, owner: ApiReuse) -> None:
        super().__init__(md.parser)
        self.md = md
        self.owner = owner

    @property
    def inner(self) -> BlockProcessor:
        return self.parser.blockprocessors[INNER]

    def test(self, parent, block: str) -> bool:
        return self.inner.test(parent, block)

    def run(self, parent, blocks: list[str]) -> None:
        block = blocks[0]
        match = self.inner.regex.search(block)
        # only a block that is one directive, its options indented under it and nothing after
        whole = match is not None and match.start() == 0
        whole = whole and all(line[:1].isspace() for line in block.splitlines()[1:])
        whole = whole and not (len(blocks) > 1 and blocks[1].startswith("    options:"))
        entry = self.owner.record.blocks.get(block) if whole else None
        if self.owner.replay and entry is not None:
            blocks.pop(0)
            self._replay(parent, entry)
            return
        count = len(parent)
        self.inner.run(parent, blocks)
        if whole and not self.owner.replay:
            self._record(block, parent[count:])

    def _record(self, block: str, added) -> None:
        divs = [el for el in added if el.tag == "div" and el.get("class") == INNER]
        found = _PLACEHOLDER.search(divs[0].text or "") if len(divs) == 1 else None
        if found is None:
            return
        handlers = self.owner.handlers()
        handler = handlers.get_handler(handlers.get_handler_name({}))
        headings = list(divs[0])
        self.owner.record.blocks[block] = {
            "html": self.md.htmlStash.rawHtmlBlocks[int(found[1])],
            "headings": [ElementTree.tostring(h, encoding="unicode") for h in headings],
            "aliases": {h.get("id"): list(handler.get_aliases(h.get("id"))) for h in headings},
            "roles": {h.get("id"): h.get("data-role") for h in headings if h.get("data-role")},
            "domain": handler.domain,
        }

    def _replay(self, parent, entry: dict) -> None:
        div = ElementTree.SubElement(parent, "div", {"class": INNER})
        div.text = self.md.htmlStash.store(translate_labels(entry["html"], self.owner.labels))
        autorefs, page = self.owner.autorefs, self.owner.autorefs.current_page
        for markup in entry["headings"]:
            heading = ElementTree.fromstring(markup)
            heading.tail = None
            div.append(heading)  # mkdocstrings removes it again once `toc` has seen it
            ident = heading.get("id")
            if page is None or "data-skip-inventory" in heading.attrib:
                continue
            autorefs.register_anchor(page, ident, title=heading.text, primary=True)
            for alias in entry["aliases"].get(ident, []):
                if alias != ident:
                    autorefs.register_anchor(page, alias, ident, primary=False)
            if role := entry["roles"].get(ident):
                aliases = entry["aliases"].get(ident, [])
                self._register_inventory(page, ident, role, entry["domain"], aliases)

    def _register_inventory(self, page, ident: str, role: str, domain: str, aliases) -> None:
        inventory = self.owner.handlers().inventory
        uri = f"{page.url}#{ident}"
        inventory.register(name=ident, domain=domain, role=role, priority=1, uri=uri)
        for alias in aliases:
            if alias not in inventory:
                inventory.register(name=alias, domain=domain, role=role, priority=2, uri=uri)


class ApiReuse(Extension):
    """A Markdown extension over mkdocstrings': records its blocks (English) or replays them.

    Parameters
    ----------
    record
        Where the blocks are recorded, loaded when replaying.
    replay
        ``False`` in the English build (record), ``True`` in a translated one (reuse).
    labels
        mkdocstrings' English section labels in the edition's language (empty when recording).
    autorefs
        The mkdocs-autorefs plugin, with which a replayed block's anchors are registered.
    handlers
        A callable returning mkdocstrings' handlers (their default handler and inventory).
    """

    def __init__(self, record: ApiRecord, replay: bool, labels, autorefs, handlers) -> None:
        super().__init__()
        self.record, self.replay, self.labels = record, replay, labels
        self.autorefs, self.handlers = autorefs, handlers

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Markdown's name)
        md.parser.blockprocessors.register(_Reuse(md, self), "api_reuse", 76)
