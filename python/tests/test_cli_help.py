"""Every command-line entry point of the package prints its help and exits 0.

argparse formats each help string with `%`, so a bare `%` in one (a modulus
in a sentence) makes `--help` raise instead of printing: every option's help
is formatted here, the console scripts of pyproject.toml and every module
run as `python -m samoyeds.NAME` alike.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PY_DIR = Path(__file__).resolve().parents[1]
PKG = PY_DIR / "samoyeds"


def _entry_modules():
    """Modules named by [project.scripts] and those with a __main__ block."""
    text = (PY_DIR / "pyproject.toml").read_text()
    section = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    scripts = set(re.findall(r'=\s*"samoyeds\.(\w+):main"', section))
    mains = {p.stem for p in PKG.glob("*.py")
             if 'if __name__ == "__main__":' in p.read_text()}
    return sorted(scripts | mains)


def test_entry_modules_found():
    # The scan must see the known commands, or the test below proves nothing.
    assert {"compile", "convert", "memory"} <= set(_entry_modules())


@pytest.mark.parametrize("module", _entry_modules())
def test_help_prints_usage(module):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PY_DIR) + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, "-m", f"samoyeds.{module}", "--help"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage:")
    assert "Traceback" not in r.stderr
