"""``python -m sitebuild``: render pages without MkDocs; see what needs translating."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import yaml

from sitebuild import i18n
from sitebuild.execute import PageError
from sitebuild.pages import Site

NAV = "_nav"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sitebuild", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (.)")
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render", help="render pages to Markdown and figure files")
    render.add_argument("pages", nargs="+", help="page sources, e.g. docs/fcn.py")
    render.add_argument("--out", type=Path, required=True, help="folder to write into")
    render.add_argument("--lang", default="en", help="language (zh: translate, run nothing)")
    translate = commands.add_parser("i18n", help="translations in docs/i18n/<lang>/")
    translate.add_argument("action", choices=["status", "stubs"])
    translate.add_argument("pages", nargs="*", help="page sources (default: every page)")
    translate.add_argument("--lang", default="zh", help="language (zh)")
    return parser


def page_name(site: Site, path: str) -> str:
    """``docs/fcn.py`` or ``fcn.py`` as the docs-relative ``fcn.py``."""
    candidate = (site.root / path).resolve()
    if candidate.is_relative_to(site.docs_dir.resolve()):
        return candidate.relative_to(site.docs_dir.resolve()).as_posix()
    return path


def render(site: Site, pages: list[str], out: Path) -> int:
    sources = frozenset(site.pages())
    for page in pages:
        if page.endswith(".md"):
            text = (site.docs_dir / page).read_text(encoding="utf-8")
            translator = site.translator(page)
            markdown, files = (translator.translate_blocks(text) if translator else text), {}
        else:
            rendered = site.render(page, sources)
            markdown, files = rendered.markdown, rendered.files
        for name, content in {page[:-3] + ".md": markdown, **files}.items():
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        print(f"{page}: {out / (page[:-3] + '.md')} and {len(files)} files")
    return 0


def nav_titles(config: Path) -> list[str]:
    """The titles of the navigation in ``mkdocs.yml``: sections and pages, in order."""
    titles: list[str] = []

    def walk(items) -> None:
        for item in items:
            if isinstance(item, dict):
                for title, value in item.items():
                    titles.append(title)
                    if isinstance(value, list):
                        walk(value)

    walk(yaml.safe_load(config.read_text(encoding="utf-8")).get("nav", []))
    return titles


def units_of(site: Site, page: str) -> list[str]:
    return nav_titles(site.root / "mkdocs.yml") if page == NAV else site.units(page)


def translations(site: Site, pages: list[str], write: bool) -> int:
    """Print, per page, what is translated, missing and stale; ``write``: update the stubs."""
    total = {"units": 0, "missing": 0, "stale": 0}
    for page in pages:
        path = i18n.catalogue_path(site.docs_dir, site.lang, page)
        entries = i18n.load(path)
        translator = i18n.Translator(site.lang, entries)
        units = units_of(site, page)
        for unit in units:
            translator(unit)
        missing, stale = len(translator.missing), len(translator.stale())
        total["units"] += len(units)
        total["missing"] += missing
        total["stale"] += stale
        if write and (missing or stale):
            header = f"{site.lang} translations of docs/{page} (see docs/i18n/README.md)"
            i18n.dump(path, i18n.stub_entries(units, entries, site.lang), header)
        mark = "ok" if not (missing or stale) else "wrote stubs" if write else "TODO"
        print(f"{page:32} {len(units) - missing:4}/{len(units):<4} {stale:3} stale  {mark}")
    done = total["units"] - total["missing"]
    print(f"{site.lang}: {done} of {total['units']} texts translated, {total['missing']} missing, "
          f"{total['stale']} stale")  # fmt: skip
    return 1 if total["missing"] or total["stale"] else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    site = Site(args.root, args.root / "docs", args.lang)
    pages = [page_name(site, p) for p in args.pages] or [*site.pages(), NAV]
    try:
        if args.command == "render":
            return render(site, pages, args.out)
        return translations(site, pages, write=args.action == "stubs")
    except PageError as err:
        print(err, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
