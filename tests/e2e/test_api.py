"""The JSON API under /api: tokens, roles, incident actions, maintenance."""
from conftest import WEB_KEY, request, without_notify


def test_api_needs_a_token(tocsin):
    r = tocsin.get("/api/incidents", user=None)
    assert r.status == 401
    assert r.json()["message"] == "authentication required"
    r = tocsin.get("/api/incidents", user=None, headers={"Authorization": "Bearer tcn_bogus"})
    assert r.status == 401
    assert r.json()["errors"] == ["unknown or revoked token"]


def test_pagerduty_style_token_header_works(tocsin):
    tok = tocsin.token("olive")
    r = tocsin.get("/api/incidents", user=None, headers={"Authorization": f"Token token={tok}"})
    assert r.status == 200
    assert r.headers["X-Tocsin-Time-Zone"] == "UTC"


def test_roles_decide_what_a_token_may_do(tocsin):
    tocsin.enqueue(dedup="k")
    r = tocsin.post("/api/incidents/1/ack", user="olive")
    assert r.status == 403
    assert r.json()["errors"] == ["this needs the responder role; 'olive' is observer"]
    assert tocsin.get("/api/incidents/1", user="olive").status == 200
    assert tocsin.post("/api/incidents/1/ack", user="bob").status == 200
    r = tocsin.post("/api/tokens", {"user": "olive"}, user="bob")
    assert r.status == 403
    r = tocsin.post("/api/tokens", {"user": "olive"}, user="alice")
    assert r.status == 201
    minted = r.json()["token"]
    r = request(tocsin.port, "GET", "/api/info", headers={"Authorization": "Bearer " + minted})
    assert r.json()["user"] == "olive" and r.json()["role"] == "observer"


def test_tokens_are_stored_hashed(tocsin):
    import sqlite3
    tok = tocsin.token("alice")
    db = sqlite3.connect(tocsin.db)
    rows = db.execute("SELECT user, hash FROM tokens").fetchall()
    db.close()
    assert rows and all(tok not in h and h != tok for _, h in rows)
    assert tok not in tocsin.log()


def test_token_for_unknown_user_is_refused(tocsin):
    r = tocsin.run("token", "create", "mallory", "-c", str(tocsin.config_path))
    assert r.returncode == 1
    assert "no user 'mallory'" in r.stderr
    assert r.stdout == ""


def test_ack_resolve_note_severity_through_the_api(tocsin):
    tocsin.enqueue(dedup="k", severity="warning")
    r = tocsin.post("/api/incidents/1/ack", user="bob")
    inc = r.json()["incident"]
    assert inc["status"] == "acknowledged"
    assert tocsin.post("/api/incidents/1/notes", {"text": "restarting nginx"},
                       user="bob").status == 200
    r = tocsin.post("/api/incidents/1/severity", {"severity": "SEV-1"}, user="bob")
    assert r.json()["incident"]["severity"] == "SEV-1"
    assert tocsin.post("/api/incidents/1/resolve", user="bob").json()["incident"]["status"] \
        == "resolved"
    log = without_notify(tocsin.show(1)["log"])
    assert [(e["type"], e["actor"]) for e in log] == [
        ("trigger", "events_v2"), ("escalate", "system"), ("ack", "bob"), ("note", "bob"),
        ("severity", "bob"), ("resolve", "bob"), ("postmortem", "bob")]
    assert log[3]["message"] == "restarting nginx"
    assert log[4]["message"] == "severity changed from SEV-4 to SEV-1"


def test_second_ack_is_idempotent_and_logged_once(tocsin):
    tocsin.enqueue(dedup="k")
    assert tocsin.post("/api/incidents/1/ack", user="bob").status == 200
    assert tocsin.post("/api/incidents/1/ack", user="alice").status == 200
    assert [e["type"] for e in tocsin.show(1)["log"]].count("ack") == 1


def test_acking_a_resolved_incident_is_409(tocsin):
    tocsin.enqueue(dedup="k")
    tocsin.post("/api/incidents/1/resolve", user="bob")
    r = tocsin.post("/api/incidents/1/ack", user="bob")
    assert r.status == 409
    assert r.json()["errors"] == ["incident #1 is already resolved"]


def test_unknown_incident_is_404(tocsin):
    assert tocsin.get("/api/incidents/99").status == 404
    r = tocsin.post("/api/incidents/99/ack", user="bob")
    assert r.status == 404 and r.json()["errors"] == ["no incident #99"]
    assert tocsin.get("/api/incidents/abc").status == 404


def test_bad_action_bodies_are_400(tocsin):
    tocsin.enqueue(dedup="k")
    r = tocsin.post("/api/incidents/1/severity", {"severity": "SEV-9"}, user="bob")
    assert r.status == 400 and "SEV-1" in r.json()["errors"][0]
    r = tocsin.post("/api/incidents/1/notes", {"text": ""}, user="bob")
    assert r.status == 400 and r.json()["errors"] == ["'text' is missing or blank"]
    r = tocsin.post("/api/incidents/1/notes", raw=b"nope", user="bob")
    assert r.status == 400


def test_incident_list_filters(tocsin):
    tocsin.enqueue(dedup="a")
    tocsin.enqueue(dedup="b")
    tocsin.enqueue(dedup="c")
    tocsin.post("/api/incidents/2/ack", user="bob")
    tocsin.post("/api/incidents/3/resolve", user="bob")
    assert [i["number"] for i in tocsin.incidents()] == [3, 2, 1]
    assert [i["number"] for i in tocsin.incidents(status="triggered,acknowledged")] == [2, 1]
    assert [i["number"] for i in tocsin.incidents(limit=1)] == [3]
    assert tocsin.incidents(service="database") == []
    assert tocsin.get("/api/incidents?status=bogus").status == 400


def test_maintenance_keeps_events_but_pages_nobody(tocsin):
    tocsin.enqueue(dedup="before")      # the writer has looked at maintenance once already
    assert tocsin.show(1)["paged"] is True
    r = tocsin.post("/api/services/website/maintenance", {"for": "2h"}, user="bob")
    assert r.status == 200
    assert r.json()["service"] == "website"
    svc = {s["id"]: s for s in tocsin.get("/api/services").json()["services"]}
    assert svc["website"]["maintenance_until"] == r.json()["end"]
    assert svc["database"]["maintenance_until"] is None
    tocsin.enqueue(dedup="during")
    shown = tocsin.show(2)
    assert shown["paged"] is False
    assert "nobody is paged" in shown["log"][1]["message"]
    assert tocsin.post("/api/services/nope/maintenance", {"for": "2h"}, user="bob").status == 404
    assert tocsin.post("/api/services/website/maintenance", {"for": "soon"},
                       user="bob").status == 400


def test_services_list_counts_open_incidents(tocsin):
    tocsin.enqueue(dedup="a")
    tocsin.enqueue(dedup="b")
    tocsin.post("/api/incidents/1/resolve", user="bob")
    svc = {s["id"]: s for s in tocsin.get("/api/services").json()["services"]}
    assert svc["website"]["open_incidents"] == 1
    assert svc["website"]["name"] == "Public website"
    assert svc["website"]["team"] == "web"


def test_test_clock_is_off_unless_enabled(tocsin):
    r = tocsin.post("/api/test/clock", {"advance": "1h"}, user="alice")
    assert r.status == 404


def test_metrics_count_what_happened_in_prometheus_format(tocsin):
    tocsin.enqueue(dedup="a")
    tocsin.enqueue(dedup="a")
    tocsin.enqueue("resolve", dedup="a")
    tocsin.post("/v2/enqueue", {"routing_key": "nope"})
    r = tocsin.get("/metrics", user=None)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in r.body.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    assert samples['tocsin_events_received_total{action="trigger"}'] == 2
    assert samples['tocsin_events_received_total{action="resolve"}'] == 1
    assert samples["tocsin_incidents_opened_total"] == 1
    assert samples["tocsin_events_rejected_total"] == 1
    assert samples["tocsin_store_jobs_total"] >= 3
    # one HELP and one TYPE per family, before its samples
    assert r.body.count("# TYPE tocsin_events_received_total counter") == 1
    assert r.body.endswith("\n")
