"""The viewer is ES modules (app.js and views/): a browser runs a module only when it comes with a JavaScript MIME
type, and a missing file would come back as index.html (the runner's fallback). Checked where the viewer is served:
the runner's /viewer/ and the website bucket the runner publishes to."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

VIEWER = Path(__file__).resolve().parents[2] / "viewer_static"
MODULES = sorted(str(path.relative_to(VIEWER)) for path in VIEWER.rglob("*.js"))
IMPORT = re.compile(r'^import .* from "(\.{1,2}/[^"]+)";$', re.MULTILINE)


def test_every_import_names_a_module_of_the_viewer() -> None:
    assert "views/tenants.js" in MODULES
    for module in MODULES:
        for target in IMPORT.findall((VIEWER / module).read_text(encoding="utf-8")):
            assert ((VIEWER / module).parent / target).resolve().is_file(), f"{module} imports {target}"


def test_the_runner_serves_every_module_as_javascript(stack_url: str) -> None:
    with httpx.Client(base_url=stack_url, timeout=30) as client:
        for module in MODULES:
            response = client.get(f"/viewer/{module}")
            assert response.status_code == 200, module
            assert "javascript" in response.headers["content-type"], module
            assert response.content == (VIEWER / module).read_bytes(), module


def test_the_published_bucket_holds_every_module_as_javascript(cloud: Any) -> None:
    s3 = cloud.stack.client("s3")
    bucket = cloud.stack.refs["ViewerBucket"]
    for module in MODULES:
        assert "javascript" in s3.head_object(Bucket=bucket, Key=module)["ContentType"], module
