"""Print the figures the chaos suite recorded (tests/artifacts/chaos-*.json) as one Markdown table.

`make chaos` runs it after the suite: `python -m tests.chaos.figures`.
"""

from __future__ import annotations

import json
from pathlib import Path

ARTIFACTS = Path(__file__).parent.parent / "artifacts"


def _flat(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_flat(v)}" for k, v in value.items())
    return str(value)


def main() -> None:
    print("| test | figures |\n|---|---|")
    for path in sorted(ARTIFACTS.glob("chaos-*.json")):
        figures = json.loads(path.read_text())
        name = path.stem.removeprefix("chaos-")
        print(f"| {name} | {'; '.join(f'{k}: {_flat(v)}' for k, v in figures.items())} |")


if __name__ == "__main__":
    main()
