"""The documents the project cites are in the repository: every `docs/<page>.md §N[.M]` in code,
configs, help texts, tests, benchmarks, notebooks and the README names a page of docs/ and a
heading of it; no citation of a document outside the repository is left; the docs' links and
the `univa.*` names they mention still exist; and nothing in the package reads docs/."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SRC = ROOT / "src"
# where citations live: the package (code, configs, help texts), tests, scripts, the README
SCANNED = ("src", "tests", "benchmarks", "notebooks", ".github", ".ci", "docs")
SCANNED_FILES = ("README.md", "pyproject.toml")
SUFFIXES = {".py", ".yaml", ".yml", ".md", ".ipynb", ".sh", ".toml", ".txt", ""}
# `docs/method.md §2, §3 and docs/api.md §1.2`: a page, then the sections it names
CITATION = re.compile(r"docs/([\w.-]+?\.md)((?:(?:\s*,\s*|\s+and\s+|\s+)§\d+(?:\.\d+)*)*)")
SECTION = re.compile(r"§(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^#{2,6} (\d+(?:\.\d+)*)\.? ", re.MULTILINE)
# the retired documents: the contract (its name as a word, not a test's dict of that name) and
# the format note; spelt in pieces here so that no rewrite or scan takes these for citations
RETIRED = re.compile(r"\b" + "SP" + r"EC\b(?!\s*[=,)\]])|\b" + "FORMAT" + r"\.md\b")
LINK = re.compile(r"\]\(([^)\s#]+\.md)(?:#([^)\s]+))?\)")
DOTTED = re.compile(r"`(?:python -m )?(univa(?:\.\w+)+)")


def text_files() -> list[Path]:
    files = [ROOT / name for name in SCANNED_FILES]
    for name in SCANNED:
        files += sorted((ROOT / name).rglob("*")) if (ROOT / name).is_dir() else []
    this = Path(__file__).resolve()
    return [
        path
        for path in files
        if path.is_file()
        and path.suffix in SUFFIXES
        and path.resolve() != this
        and not any(part.endswith(".egg-info") for part in path.parts)  # pip's copy of the README
    ]


def headings(page: Path) -> set[str]:
    """The numbers of `page`'s numbered headings (`## 3. The losses` -> "3")."""
    return set(HEADING.findall(page.read_text(encoding="utf-8"))) if page.is_file() else set()


def citation_problems(text: str, docs: Path, own_page: Path | None = None) -> list[str]:
    """What does not resolve among the citations of `text`: a page missing from `docs`, a
    section missing from its page, or a bare `§N` outside a citation (resolved against
    `own_page` when the text is a page of docs/ itself)."""
    problems = []
    for match in CITATION.finditer(text):
        page = docs / match.group(1)
        if not page.is_file():
            problems.append(f"docs/{match.group(1)}: no such page")
            continue
        known = headings(page)
        problems += [
            f"docs/{match.group(1)} §{section}: no such heading"
            for section in SECTION.findall(match.group(2))
            if section not in known
        ]
    bare = SECTION.findall(CITATION.sub("", text))
    known = headings(own_page) if own_page is not None else set()
    problems += [
        f"§{section}: no such heading in {own_page.name}"
        if own_page is not None
        else f"§{section}: cites no page (write docs/<page>.md §{section})"
        for section in bare
        if section not in known
    ]
    return problems


def link_problems(text: str, folder: Path) -> list[str]:
    """Markdown links to `.md` files that do not exist, or to a heading they lack (GitHub's
    anchors: lower case, punctuation dropped, spaces as hyphens)."""
    problems = []
    for target, anchor in LINK.findall(text):
        if "://" in target:
            continue
        path = (folder / target).resolve()
        if not path.is_file():
            problems.append(f"{target}: no such file")
        elif anchor and anchor not in anchors(path):
            problems.append(f"{target}#{anchor}: no such heading")
    return problems


def anchors(page: Path) -> set[str]:
    titles = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in titles}


def name_exists(dotted: str, src: Path = SRC) -> bool:
    """Whether the package defines `dotted` (`univa.losses.va_supcon_loss`), read from the
    source without importing it: the longest module prefix, then a name it defines or lists."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = src.joinpath(*parts[:cut])
        module = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if module.is_file():
            break
    else:
        return False
    rest = parts[cut:]
    if not rest:
        return True
    source = module.read_text(encoding="utf-8")
    name = re.escape(rest[0])
    defined = rf"^\s*(?:def|class) {name}\b|^{name}\s*[:=]|[\"']{name}[\"']"
    return re.search(defined, source, re.MULTILINE) is not None


def test_every_docs_citation_names_a_page_and_heading_that_exist() -> None:
    problems = []
    for path in text_files():
        own_page = path if path.parent == DOCS else None
        text = path.read_text(encoding="utf-8", errors="replace")
        where = path.relative_to(ROOT)
        problems += [f"{where}: {p}" for p in citation_problems(text, DOCS, own_page)]
    assert problems == []


def test_no_citation_of_a_document_outside_the_repository_is_left() -> None:
    left = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in [*text_files(), Path(__file__)]  # this file too: its examples are spelt apart
        for number, line in enumerate(path.read_text("utf-8", "replace").splitlines(), 1)
        if RETIRED.search(line)
    ]
    assert left == []


def test_links_of_the_docs_and_the_readme_resolve() -> None:
    problems = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        problems += [f"{page.name}: {p}" for p in link_problems(page.read_text(), page.parent)]
    assert problems == []


def test_the_univa_names_the_docs_mention_exist() -> None:
    missing = [
        f"{page.name}: {name}"
        for page in sorted(DOCS.glob("*.md"))
        for name in DOTTED.findall(page.read_text())
        if not name_exists(name)
    ]
    assert missing == []


def test_the_package_reads_nothing_from_docs() -> None:
    """docs/ is not packaged (the wheel holds src/ only), so no module may build a path to it."""
    readers = [
        str(path.relative_to(ROOT))
        for path in SRC.rglob("*.py")
        if re.search(r"[\"']docs[\"']", path.read_text())
    ]
    assert readers == []
    assert not (SRC / "univa" / "docs").exists()


def test_the_checks_find_what_is_wrong(tmp_path: Path) -> None:
    """Each check fails on a made-up text that breaks it, so a passing run means something."""
    (tmp_path / "page.md").write_text("# Page\n\n## 1. One\n\n### 1.2 Sub\n\n## 3. Three\n")
    good = "see docs/page.md §1, §1.2 and docs/page.md §3"
    assert citation_problems(good, tmp_path) == []
    bad = "docs/page.md §2; docs/page.md §1, §4; docs/gone.md §1; a bare §3"
    assert citation_problems(bad, tmp_path) == [
        "docs/page.md §2: no such heading",
        "docs/page.md §4: no such heading",
        "docs/gone.md: no such page",
        "§3: cites no page (write docs/<page>.md §3)",
    ]
    assert citation_problems("as §1.2 says; not §7", tmp_path, tmp_path / "page.md") == [
        "§7: no such heading in page.md"
    ]
    assert RETIRED.search("the loss (" + "SP" + "EC section 3)")
    assert RETIRED.search("the format (" + "FORMAT" + ".md)")
    assert not RETIRED.search("module = UniVALitModule(**" + "SP" + "EC, hidden_size=8)")
    assert link_problems("[a](page.md#3-three) [b](page.md#9-nine) [c](none.md)", tmp_path) == [
        "page.md#9-nine: no such heading",
        "none.md: no such file",
    ]
    assert name_exists("univa.losses.va_supcon_loss")
    assert name_exists("univa.UniVALitModule")  # listed for lazy loading
    assert not name_exists("univa.losses.no_such_loss")
    assert not name_exists("univa.no_such_module.name")
