"""The app as a whole: OpenAPI documents every route; the built frontend is served with SPA fallback."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from backend.api.main import create_app
from backend.auth.policy import api_routes


def test_openapi_documents_every_operation(client):
    spec = client.get("/api/openapi.json").json()
    operations = [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]
    served = {
        (info.path, method.lower())
        for info in api_routes(client.app)
        if info.route.include_in_schema
        for method in info.methods
    }
    assert {(path, method) for path, method, _ in operations} == served
    for path, method, op in operations:
        assert op.get("summary"), f"{method} {path} has no summary"
        assert re.fullmatch(r"[a-z]+-[a-z_]+", op["operationId"]), op["operationId"]
        assert op.get("tags"), f"{method} {path} has no tag"
        if "{" in path:
            assert "404" in op["responses"], f"{method} {path} does not document its 404"
        if "422" in op["responses"]:
            (schema,) = (body["schema"] for body in op["responses"]["422"]["content"].values())
            assert schema == {"$ref": "#/components/schemas/ValidationProblem"}, f"{method} {path}"
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids))
    assert "pocs-create_poc" in ids and "runs-retry_run" in ids
    create = spec["paths"]["/api/pocs"]["post"]
    assert "422" in create["responses"] and "201" in create["responses"]
    assert client.get("/api/docs").status_code == 200


def test_frontend_is_served_with_spa_fallback(api_env, database_url, settings, tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>zopoc</title>")
    (dist / "assets" / "app.js").write_text("console.log('zopoc')")
    app = create_app(settings.model_copy(update={"frontend_dist": dist}))
    with TestClient(app) as client:
        root = client.get("/")
        assert root.status_code == 200 and root.text.startswith("<!doctype html>")
        assert root.headers["content-type"].startswith("text/html")
        assert client.get("/pocs/123/compare").text == root.text  # client-side route
        asset = client.get("/assets/app.js")
        assert asset.status_code == 200 and asset.text == "console.log('zopoc')"
        assert client.get("/../../etc/passwd").text == root.text  # never a file outside dist
        missing = client.get("/api/no-such-route")
        assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
        assert client.get("/api/health").json() == {"status": "ok"}


def test_without_a_build_only_the_api_answers(client):
    assert client.get("/").status_code == 404


def test_every_answer_says_how_long_the_server_took(client):
    # Server-Timing (developer tools, benchmarks/load.py): present on API answers and errors alike.
    for response in (client.get("/api/health"), client.get("/api/pocs"), client.get("/api/pocs/nope")):
        name, _, duration = response.headers["server-timing"].partition(";dur=")
        assert name == "app" and float(duration) >= 0, response.headers["server-timing"]


def test_api_threads_setting_sizes_the_handler_thread_pool(api_env, database_url, settings):
    import anyio.to_thread

    app = create_app(settings.model_copy(update={"api_threads": 7}))
    with TestClient(app) as client:
        assert client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens) == 7


def test_the_dashboard_and_every_answer_carry_security_headers(api_env, database_url, settings, tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>zopoc</title>")
    app = create_app(settings.model_copy(update={"frontend_dist": dist}))
    with TestClient(app) as client:
        for path in ("/", "/pocs/123/compare", "/api/health", "/api/no-such-route"):
            headers = client.get(path).headers
            policy = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy, path
            assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
            assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        docs = client.get("/api/docs").headers  # Swagger UI's CDN script: no policy, the other headers
        assert "content-security-policy" not in docs and docs["x-content-type-options"] == "nosniff"
