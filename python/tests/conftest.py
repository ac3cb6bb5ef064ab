import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from samoyeds._capi import RuntimeLibraryNotFound, lib  # noqa: E402


def _missing():
    try:
        lib()
        return None
    except RuntimeLibraryNotFound as e:
        return str(e)


LIB_MISSING = _missing()

requires_runtime = pytest.mark.skipif(
    LIB_MISSING is not None, reason=f"Samoyeds runtime library not available: {LIB_MISSING}")
