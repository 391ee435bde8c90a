"""Development tools for tests, the local runner's demo and the bench: never part of a deployed function.

Importable with the repository root on sys.path (pytest's `pythonpath`, `make bench`'s PYTHONPATH, the runner adds it).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_STORE = ROOT / "tests" / "fixtures" / "demo_store"
# The worker's debounce only waits for a burst to end; tests and benchmarks that send one turn at a time set it short
# (its code path still runs) with `cloud.environment_changed(SHORT_DEBOUNCE, "ConversationWorkerFunction")`.
SHORT_DEBOUNCE = {"CONVERSATION_DEBOUNCE_S": "0.1", "CONVERSATION_DEBOUNCE_MAX_S": "1"}
