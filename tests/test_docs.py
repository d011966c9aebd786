"""The documentation: links that resolve, a short front page that carries the
commands CI runs, and pages that speak about the software only.

Plain text checks, no TensorFlow: the whole module runs in well under a second.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "saved_models" / "README.md"]
README_MAX_LINES = 180

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:, ...
URL = re.compile(r"<?https?://[^\s)>]+>?")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)
ISSUE_WORD = re.compile(r"\bissues?\b", re.I)
ISSUE_NUMBER = re.compile(r"(?<!&)#\d+")  # not &#8230; entities
OTHER_PROJECT_ISSUE = re.compile(r"`?([\w.-]+/[\w.-]+)#(\d+)`?")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _prose(text: str) -> str:
    """The text without fenced code blocks (their lines are not Markdown)."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: link markup reduced to its text, lower case,
    punctuation dropped (letters, digits, ``_``, ``-`` and spaces stay), spaces to ``-``."""
    text = LINK.sub(lambda m: m.group(1), heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, numbered as GitHub numbers repeats."""
    seen: Counter = Counter()
    found = set()
    for match in HEADING.finditer(_prose(_text(path))):
        base = slug(match.group(2))
        found.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return found


def links(path: Path) -> list[str]:
    return [m.group(2) for m in LINK.finditer(_prose(_text(path)))]


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_pages_exist():
    for path in PAGES:
        assert path.is_file(), f"{_page_id(path)} is missing"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_relative_links_resolve(page):
    broken = []
    for target in links(page):
        if EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.name})")
    assert not broken, f"{_page_id(page)}: broken links: {broken}"


def test_readme_is_a_front_page():
    lines = _text(README).splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines; keep it at most {README_MAX_LINES} and move "
        "reference material to docs/")


def ci_commands() -> list[str]:
    """The commands `.ci/run` runs under its ``# README: ...`` comments."""
    commands, expect = [], False
    for line in _text(ROOT / ".ci" / "run").splitlines():
        stripped = line.strip()
        if stripped.startswith("# README"):
            expect = True
        elif expect and stripped and not stripped.startswith("#"):
            commands.append(stripped)
            expect = False
    return commands


def test_readme_has_the_commands_ci_runs():
    commands = ci_commands()
    assert len(commands) >= 2, f".ci/run names no README commands: {commands}"
    code_lines = {line[4:] for line in _text(README).splitlines() if line.startswith("    ")}
    for command in commands:
        assert command in code_lines, (
            f"README.md must show `{command}` as an indented code line, exactly as .ci/run "
            "runs it")


def test_readme_lists_every_notebook():
    text = _text(README)
    for notebook in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        assert f"notebooks/{notebook.name}" in text, f"README.md does not list {notebook.name}"


def _without_urls(text: str) -> str:
    """Drops external links and bare URLs; a link whose text names another project's
    issue (``owner/repo#N``) must point at exactly that issue on GitHub."""
    def external(match: re.Match) -> str:
        label, target = match.group(1), match.group(2)
        if not EXTERNAL.match(target):
            return match.group(0)
        ref = OTHER_PROJECT_ISSUE.fullmatch(label.strip())
        if ref and re.fullmatch(rf"https://github\.com/{re.escape(ref.group(1))}/"
                                rf"(issues|pull)/{ref.group(2)}", target):
            return ""
        return "" if not ISSUE_NUMBER.search(label) else label
    return URL.sub("", LINK.sub(external, text))


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_pages_speak_about_the_software_only(page):
    text = _without_urls(_text(page))
    problems = [f"line {text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}"
                for pattern in (ISSUE_WORD, ISSUE_NUMBER) for m in pattern.finditer(text)]
    assert not problems, (
        f"{_page_id(page)} refers to tracker issues ({problems}); describe the software "
        "instead (a link to another project's GitHub issue is fine)")


def test_the_checks_catch_what_they_should(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A title\n\n## Set up, and test (fast)\n\n## Set up, and test (fast)\n",
                    encoding="utf-8")
    assert anchors(page) == {"a-title", "set-up-and-test-fast", "set-up-and-test-fast-1"}
    assert slug("Offline: `$RNNAPPS_DATA_DIR` and path options") == \
        "offline-rnnapps_data_dir-and-path-options"
    assert ISSUE_NUMBER.search(_without_urls("as #18 says"))
    assert ISSUE_WORD.search(_without_urls("the issue fixes the window"))
    assert ISSUE_NUMBER.search(_without_urls("[see #18](https://example.com/x)"))
    ok = "[tensorflow/tensorflow#23780](https://github.com/tensorflow/tensorflow/issues/23780)"
    assert not ISSUE_NUMBER.search(_without_urls(ok))
    assert not ISSUE_WORD.search(_without_urls(ok))
    wrong = "[tensorflow/tensorflow#23780](https://github.com/tensorflow/tensorflow/issues/1)"
    assert ISSUE_NUMBER.search(_without_urls(wrong))
    assert ISSUE_NUMBER.search(_without_urls("tensorflow/tensorflow#23780, unlinked"))
    assert not ISSUE_NUMBER.search(_without_urls("| # | mistake |\n[x](#results) &#8230;"))
