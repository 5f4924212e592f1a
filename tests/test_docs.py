"""Every ```python block of docs/*.md runs: each page's blocks in order, in one fresh namespace.

A block preceded by the HTML comment ``<!-- skip -->`` (on the line just before the fence)
is not run; use it only for what cannot run here (full-size training, remote data).
"""

import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.glob("*.md"))  # top level only: docs/guides/ is tested elsewhere

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_SKIP = "<!-- skip -->"


def python_blocks(text):
    """``[(line_number, code, skipped)]`` of the page's ```python blocks, in order."""
    blocks = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").splitlines()
        skipped = bool(before) and before[-1].strip() == _SKIP
        blocks.append((line, match.group(1), skipped))
    return blocks


def test_the_pages_exist():
    names = {page.name for page in PAGES}
    assert {"index.md", "layers.md", "compat.md", "testing.md", "models.md", "training.md",
            "losses.md", "regularizers.md"} <= names


def test_block_extraction():
    text = "intro\n```python\na = 1\n```\n<!-- skip -->\n```python\nraise SystemExit\n```\n```sh\nls\n```\n"
    assert python_blocks(text) == [(2, "a = 1\n", False), (6, "raise SystemExit\n", True)]


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_page_code_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # pages may write files (checkpoints, saved models)
    namespace = {"__name__": f"docs_{page.stem}"}
    for line, code, skipped in python_blocks(page.read_text(encoding="utf-8")):
        if skipped:
            continue
        compiled = compile(code, f"{page.relative_to(DOCS.parent)}:{line}", "exec")
        try:
            exec(compiled, namespace)  # noqa: S102 - running the documentation is the point
        except Exception as error:
            raise AssertionError(
                f"the python block at {page.name} line {line} failed: {type(error).__name__}: {error}"
            ) from error


def test_index_links_every_page():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in PAGES:
        if page.name != "index.md":
            assert f"({page.name}" in index, f"docs/index.md does not link {page.name}"
    assert "(guides/custom_gan.md" in index
