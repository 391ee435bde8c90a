"""scripts/deploy-viewer.sh against the emulated cloud's website bucket (the same `aws s3 sync` a real deploy runs)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "deploy-viewer.sh"


def test_deploy_uploads_the_viewer_with_the_api_url_and_removes_stale_files(cloud: Any) -> None:
    if shutil.which("aws") is None:
        pytest.skip("the aws CLI is not installed")
    bucket = cloud.stack.refs["ViewerBucket"]
    s3 = cloud.stack.client("s3")
    s3.put_object(Bucket=bucket, Key="old-build.js", Body=b"stale")
    env = {**os.environ, "VIEWER_BUCKET": bucket, "VIEWER_URL": "http://viewer.example.com",
           "VIEWER_API_URL": "https://abc123.execute-api.us-east-1.amazonaws.com/"}
    result = subprocess.run(["bash", str(SCRIPT), "test-stack"], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr

    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {"index.html", "app.js", "api.js", "i18n.js", "diff.js", "styles.css", "config.js"} <= keys
    assert "old-build.js" not in keys
    config = s3.get_object(Bucket=bucket, Key="config.js")["Body"].read().decode()
    assert 'apiUrl: "https://abc123.execute-api.us-east-1.amazonaws.com"' in config
    index = s3.get_object(Bucket=bucket, Key="index.html")
    assert index["ContentType"].startswith("text/html")
    # ES modules load only with a JavaScript MIME type.
    assert "javascript" in s3.get_object(Bucket=bucket, Key="app.js")["ContentType"]
    # The repository's copy still means "same origin" (what the local runner serves).
    assert 'apiUrl: ""' in (ROOT / "viewer_static" / "config.js").read_text()
