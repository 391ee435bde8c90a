"""The webhook receiver cold-starts without the heavy libraries (crewai, fastembed, qdrant_client, onnxruntime)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("crewai", "fastembed", "qdrant_client", "onnxruntime", "litellm", "aws_lambda_powertools.event_handler",
         "aws_lambda_powertools.utilities.idempotency",
         "boto3", "s3transfer")  # the receiver's clients are botocore's; boto3's package import pulls s3transfer


def test_receiver_module_imports_no_heavy_library() -> None:
    code = f"import json, sys, webhook_receiver; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "common"),
                                                        str(ROOT / "functions" / "webhook")])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
