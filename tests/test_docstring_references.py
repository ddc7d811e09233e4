"""Every cross-reference in the source's docstrings and comments names an importable object.

The strict documentation build checks the references on the pages it renders. This test
also covers private functions and modules, which no page shows.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "aep_jobs"
# A Markdown cross-reference such as [`ExportJobsClient`][aep_jobs.ExportJobsClient].
REFERENCE = re.compile(r"\]\[(aep_jobs(?:\.\w+)+)\]")


def references() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for match in REFERENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{path.relative_to(SOURCE.parent)}:{line}", match.group(1)))
    return found


def resolve(dotted: str) -> object:
    """Import the longest module prefix of ``dotted`` and get the rest as attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for name in parts[split:]:
            target = getattr(target, name)
        return target
    raise ModuleNotFoundError(dotted)


def test_source_has_references() -> None:
    assert len(references()) > 20


@pytest.mark.parametrize(("where", "dotted"), references())
def test_reference_resolves(where: str, dotted: str) -> None:
    try:
        resolve(dotted)
    except (AttributeError, ModuleNotFoundError) as error:
        pytest.fail(f"{where}: the cross-reference {dotted} names nothing: {error}")


def test_broken_reference_detected() -> None:
    with pytest.raises(AttributeError):
        resolve("aep_jobs.RetryBuget")
