"""Run ``listing.py`` in an interpreter where ``import sniffio`` fails, as in a default install.

anyio 4.12 and later, and httpx, no longer depend on sniffio (only Trio brings it), and
httpcore 1.0.9 then tries the failing import again for each lock and event it makes. The
project's environment has sniffio because its tests need Trio, so this measures the case of
an install without it. It takes the arguments of ``listing.py``:

    python benchmarks/listing_without_sniffio.py --base-url URL --variant aep_jobs
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
    """Fails ``import sniffio`` after the same path search as a missing package costs."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "sniffio" or fullname.startswith("sniffio."):
            importlib.machinery.PathFinder.find_spec("_aep_jobs_absent_module", path)
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


if __name__ == "__main__":
    sys.meta_path.insert(0, _NoSniffio())
    listing = Path(__file__).with_name("listing.py")
    sys.argv[0] = str(listing)
    runpy.run_path(str(listing), run_name="__main__")
