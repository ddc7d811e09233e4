"""Run ``benchmarks/bulk.py`` in an interpreter where ``import sniffio`` fails.

anyio 4.12 and later, and httpx, no longer install sniffio; only Trio brings it. Without it,
httpcore 1.0.9 tries the import again each time it makes a lock or an event, several times
per request. This script measures that case in the project's own environment, which has
sniffio because the tests need Trio:

    uv run python benchmarks/without_sniffio.py --sweep-only
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType


class _NoSniffio(importlib.abc.MetaPathFinder):
    """Makes ``import sniffio`` fail as it does where the package is not installed."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "sniffio" or fullname.startswith("sniffio."):
            # Search sys.path for a module that does not exist, so that the failed import
            # costs what it costs where sniffio is not installed.
            importlib.machinery.PathFinder.find_spec("_aep_jobs_benchmark_absent", path)
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


if __name__ == "__main__":
    sys.meta_path.insert(0, _NoSniffio())
    for name in [name for name in sys.modules if name.split(".")[0] == "sniffio"]:
        del sys.modules[name]
    try:
        import sniffio  # noqa: F401
    except ModuleNotFoundError:
        pass
    else:
        raise SystemExit("sniffio could still be imported; the measurement would be wrong")
    runpy.run_path(str(Path(__file__).with_name("bulk.py")), run_name="__main__")
