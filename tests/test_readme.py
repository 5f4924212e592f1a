"""The README's Quickstart is what CI runs."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quickstart():
    spec = importlib.util.spec_from_file_location("quickstart", ROOT / ".ci" / "quickstart.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_has_an_install_and_run_block_and_a_test_block():
    blocks = _quickstart().quickstart_blocks((ROOT / "README.md").read_text())
    assert len(blocks) == 2
    assert "pip install" in blocks[0] and "ascendgan " in blocks[0]
    assert "pip install" in blocks[1] and ".[test]" in blocks[1]
    assert "pytest" in blocks[1] and "TF_USE_LEGACY_KERAS=1" in blocks[1]  # both Keras modes


def test_ci_runs_the_second_block():
    script = (ROOT / ".ci" / "run").read_text()
    assert "quickstart.py 2" in script


def test_extraction_rejects_a_readme_without_quickstart():
    import pytest

    with pytest.raises(SystemExit, match="Quickstart"):
        _quickstart().quickstart_blocks("# title\n\n```sh\nls\n```\n")
