"""Markdown links between repository files keep working in the site.

The pages in docs/ and the repository files the site includes (README.md sections, CHANGELOG.md,
SECURITY.md, CONTRIBUTING.md, bench/results.md) link to each other by relative paths, which is what GitHub
renders. Before MyST parses a page or an included file, each relative link is rewritten from the
including page's point of view:

- a file under docs/: the relative path from the including page (so MyST checks it and its anchor);
- a repository file the site includes: the page that includes it; for README.md, which several pages
  include in parts, the page that includes the section the anchor names (without an anchor: GitHub);
- any other repository file (example DAGs, the Makefile, scripts): its page on GitHub.

A link to a missing file is left as it is, and a missing anchor is kept: MyST reports both, and with
``-W`` the build fails.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

SOURCE = "https://github.com/wfcancel/airflow-provider-wfcancel/blob/main/"
LINK = re.compile(r"(!?\[[^\]\n]*\]\()([^)\s]+)(\))")
INCLUDE = re.compile(r"```\{include\} ([^\n]+)\n((?::[\w-]+:[^\n]*\n)*)```")
HEADING = re.compile(r"^#+ (.+)$", re.MULTILINE)


def slug(heading: str) -> str:
    """GitHub's (and ``myst_heading_anchors``') anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _option(options: str, name: str) -> str | None:
    match = re.search(rf"^:{name}: (.*)$", options, re.MULTILINE)
    return match.group(1).strip().strip('"') if match else None


def included_files(docs: Path) -> dict[str, list[tuple[str, set[str]]]]:
    """Repository path -> [(page that includes it, anchors of the headings it includes)]."""
    found: dict[str, list[tuple[str, set[str]]]] = {}
    repo = docs.parent
    for page in sorted(docs.rglob("*.md")):
        if "_build" in page.parts:
            continue
        docname = page.relative_to(docs).with_suffix("").as_posix()
        for match in INCLUDE.finditer(page.read_text()):
            path = (page.parent / match.group(1).strip()).resolve()
            if not path.is_relative_to(repo) or path.is_relative_to(docs):
                continue
            text = path.read_text()
            start, end = _option(match.group(2), "start-after"), _option(match.group(2), "end-before")
            if start:
                text = text[text.index(start) + len(start) :] if start in text else ""
            if end and end in text:
                text = text[: text.index(end)]
            anchors = {slug(h) for h in HEADING.findall(text)}
            if start and start.startswith("#"):
                anchors.add(slug(start.lstrip("#")))
            found.setdefault(path.relative_to(repo).as_posix(), []).append((docname, anchors))
    return found


def rewrite(
    text: str, source: str, docname: str, included: dict[str, list[tuple[str, set[str]]]], repo: Path
) -> str:
    """Rewrite the links of ``text`` (from the repository file ``source``) as seen from page ``docname``."""
    page_dir = posixpath.dirname(f"docs/{docname}")

    def target_for(match: re.Match[str]) -> str:
        target = match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            return match.group(0)  # http(s), mailto
        path, _, anchor = target.partition("#")
        repo_path = posixpath.normpath(posixpath.join(posixpath.dirname(source), path)) if path else source
        suffix = f"#{anchor}" if anchor else ""
        if not (repo / repo_path).exists():
            return match.group(0)  # left for MyST, which reports it
        if repo_path.startswith("docs/"):
            if repo_path == f"docs/{docname}.md" and not path:
                return match.group(0)
            new = posixpath.relpath(repo_path, page_dir) + suffix
        elif repo_path in included and (anchor or len(included[repo_path]) == 1):
            pages = included[repo_path]
            page = next((p for p, anchors in pages if anchor in anchors), pages[0][0])
            new = posixpath.relpath(f"docs/{page}.md", page_dir) + suffix
        else:
            new = SOURCE + repo_path + suffix
        return f"{match.group(1)}{new}{match.group(3)}"

    return LINK.sub(target_for, text)


def setup(app: Sphinx) -> dict[str, Any]:
    docs = Path(app.srcdir)
    included = included_files(docs)

    def on_source(app: Sphinx, docname: str, content: list[str]) -> None:
        content[0] = rewrite(content[0], f"docs/{docname}.md", docname, included, docs.parent)

    def on_include(app: Sphinx, relative_path: Path, parent_docname: str, content: list[str]) -> None:
        # MyST passes only the stem of the including page; the environment knows its full name.
        source = (docs / relative_path).resolve().relative_to(docs.parent).as_posix()
        if source.endswith(".md"):
            content[0] = rewrite(content[0], source, app.env.docname, included, docs.parent)

    app.connect("source-read", on_source)
    app.connect("include-read", on_include)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
