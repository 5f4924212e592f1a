"""Prints the N-th fenced shell block of README.md's `## Quickstart` section (1-based).

`.ci/run` executes block 2 with this, so CI runs exactly the README's test command.
"""

import re
import sys
from pathlib import Path


def quickstart_blocks(readme: str) -> list[str]:
    match = re.search(r"^## Quickstart\s*$(.*?)(?=^## |\Z)", readme, flags=re.M | re.S)
    if not match:
        raise SystemExit("README.md has no '## Quickstart' section")
    return re.findall(r"^```(?:sh|bash|shell)\s*$\n(.*?)^```\s*$", match.group(1), flags=re.M | re.S)


if __name__ == "__main__":
    blocks = quickstart_blocks(Path(__file__).resolve().parent.parent.joinpath("README.md").read_text())
    if len(blocks) != 2:
        raise SystemExit(f"README.md's Quickstart must hold exactly 2 shell blocks, found {len(blocks)}")
    print(blocks[int(sys.argv[1]) - 1], end="")
