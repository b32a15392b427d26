"""Where the browser tests save their screenshots.

Into docs/screenshots (linked from the README) only when asked, `ZHILI_SCREENSHOTS=1 make test`, so that
a test run leaves the checkout clean; otherwise into a temporary folder, where they are still taken
and checked.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def screenshots_dir() -> Path:
    if os.environ.get("ZHILI_SCREENSHOTS") == "1":
        return DOCS
    return Path(tempfile.gettempdir()) / "zhili-screenshots"
