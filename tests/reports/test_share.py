"""Share links: valid, expired, wrong token, revoked, read-only; and the frozen snapshot."""

import datetime as dt

import pytest
import sqlalchemy as sa

from backend.db.models import Poc, Report, Run


def test_create_returns_the_links(shared):
    token = shared["token"]
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert shared["url"] == f"/r/{token}"
    assert shared["html_url"] == f"/api/reports/{token}.html" and shared["pdf_url"] == f"/api/reports/{token}.pdf"
    expires = dt.datetime.fromisoformat(shared["expires_at"])
    assert dt.timedelta(days=13, hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=14)


def test_tokens_are_unguessable_and_distinct(client, finished_poc):
    tokens = {client.post(f"/api/pocs/{finished_poc}/reports", json={}).json()["token"] for _ in range(3)}
    assert len(tokens) == 3


def test_valid_link_serves_snapshot_and_share_page_without_login(client, shared):
    body = client.get(f"/api/reports/{shared['token']}").json()
    snap = body["snapshot"]
    assert snap["poc"]["name"] == "Support tickets PoC"
    assert {r["method"] for r in snap["runs"]} == {"lozo", "adamw"}
    assert set(snap["runs"][0]["series"]) == {"loss", "accuracy", "memory"}
    assert snap["verdict"]["code"] == "no_significant_difference"
    assert snap["fingerprints"]["model"]["config_sha256"] and len(snap["fingerprints"]["dataset"]["sha256"]) == 64
    assert "poc_id" not in str(snap) and shared["poc_id"] not in str(snap)  # no address of the live system
    page = client.get(shared["url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "cannot tell LOZO and AdamW apart" in page.text
    for chart in ("chart-loss", "chart-accuracy", "chart-memory"):
        assert f'id="{chart}"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"


def test_html_download_is_self_contained(client, shared):
    answer = client.get(shared["html_url"])
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    assert "<script src=" not in answer.text  # plotly inlined: opens offline
    assert "Plotly" in answer.text and len(answer.text) > 3_000_000


def test_language_japanese(client, finished_poc):
    token = client.post(f"/api/pocs/{finished_poc}/reports", json={"language": "ja"}).json()["token"]
    page = client.get(f"/r/{token}").text
    assert 'lang="ja"' in page and "判断できません" in page and "学習損失" in page


@pytest.mark.parametrize("token", ["A" * 43, "not-a-real-token-at-all", "x" * 64])
def test_wrong_token_is_404(client, shared, token):
    assert client.get(f"/api/reports/{token}").status_code == 404
    assert client.get(f"/api/reports/{token}.html").status_code == 404
    assert client.get(f"/r/{token}").status_code == 404


def test_expired_link_is_410(client, shared, sessions):
    with sessions() as session:
        session.execute(sa.update(Report).where(Report.token == shared["token"])
                        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
        session.commit()
    assert client.get(f"/api/reports/{shared['token']}").status_code == 410
    assert client.get(shared["html_url"]).status_code == 410
    assert client.get(shared["pdf_url"]).status_code == 410
    page = client.get(shared["url"])
    assert page.status_code == 410 and "expired" in page.text


def test_revoked_link_is_404_at_once(client, shared):
    assert client.get(shared["url"]).status_code == 200
    # the token alone cannot revoke: the route needs the PoC it belongs to
    assert client.delete(f"/api/pocs/not-this-poc/reports/{shared['token']}").status_code == 404
    assert client.get(shared["url"]).status_code == 200
    assert client.delete(f"/api/pocs/{shared['poc_id']}/reports/{shared['token']}").status_code == 204
    assert client.get(f"/api/reports/{shared['token']}").status_code == 404
    assert client.get(shared["url"]).status_code == 404
    states = client.get(f"/api/pocs/{shared['poc_id']}/reports").json()["data"]
    assert [r["state"] for r in states] == ["revoked"]


def test_a_share_token_can_change_nothing(client, shared, sessions):
    """Every route with a token in its path, called with every writing verb, changes no row."""
    def rows():
        with sessions() as session:
            return [tuple(session.execute(sa.select(Report.token, Report.revoked_at, Report.expires_at)).all()),
                    session.scalar(sa.select(sa.func.count()).select_from(Poc)),
                    tuple(session.execute(sa.select(Run.id, Run.state)).all())]

    before = rows()
    token = shared["token"]
    paths = [f"/api/reports/{token}", f"/api/reports/{token}.html", f"/api/reports/{token}.pdf", f"/r/{token}"]
    token_routes = [r for r in client.app.routes if "{token}" in getattr(r, "path", "")]
    # every token-only route of the app is a GET (the revoke route also needs the PoC id)
    for route in token_routes:
        if "{poc_id}" not in route.path:
            assert route.methods <= {"GET", "HEAD"}, route.path
    for path in paths:
        for verb in ("post", "put", "patch", "delete"):
            assert client.request(verb.upper(), path).status_code in (404, 405), (verb, path)
    assert rows() == before
    assert client.get(shared["url"]).status_code == 200


def test_snapshot_is_frozen(client, shared, sessions):
    snapshot_before = client.get(f"/api/reports/{shared['token']}").json()["snapshot"]
    page_before = client.get(shared["url"]).text
    with sessions() as session:  # the PoC changes after sharing: renamed, a run fails, then deleted
        poc = session.get(Poc, shared["poc_id"])
        poc.name = "renamed later"
        for run in poc.runs:
            run.final_metrics = {"acc_end": 0.0}
            run.state = "failed"
        session.commit()
    assert client.get(f"/api/reports/{shared['token']}").json()["snapshot"] == snapshot_before
    assert client.get(shared["url"]).text.replace(" ", "") == page_before.replace(" ", "")
    assert client.delete(f"/api/pocs/{shared['poc_id']}").status_code == 204
    after = client.get(shared["url"])
    assert after.status_code == 200 and "Support tickets PoC" in after.text and "renamed later" not in after.text


def test_report_of_unknown_poc_and_bad_body(client, finished_poc):
    assert client.post("/api/pocs/nope/reports", json={}).status_code == 404
    assert client.post(f"/api/pocs/{finished_poc}/reports", json={"language": "fr"}).status_code == 422
    assert client.post(f"/api/pocs/{finished_poc}/reports", json={"expires_in_days": 0}).status_code == 422
