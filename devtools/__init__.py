"""Development tools for tests, the local runner's demo and the bench: never part of a deployed function.

Importable with the repository root on sys.path (pytest's `pythonpath`, `make bench`'s PYTHONPATH, the runner adds it).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_STORE = ROOT / "tests" / "fixtures" / "demo_store"
