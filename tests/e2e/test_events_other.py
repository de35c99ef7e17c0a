"""Events API v1, change events and Alertmanager's webhook receiver, with the quirks
real senders have (PROTOCOLS.md section 0)."""
from conftest import DB_KEY, LIMITED_KEY, WEB_KEY, without_notify

V1 = "/generic/2010-04-15/create_event.json"


def test_v1_trigger_is_200_with_incident_key(tocsin):
    r = tocsin.post(V1, {"service_key": WEB_KEY, "event_type": "trigger",
                         "incident_key": "srv01/disk", "description": "Disk full on srv01",
                         "details": {"free": "1%"}, "client": "nagios"})
    assert r.status == 200
    assert r.json() == {"status": "success", "message": "Event processed",
                        "incident_key": "srv01/disk"}
    shown = tocsin.show(1)
    assert shown["title"] == "Disk full on srv01"
    assert shown["alerts"][0]["details"] == {"free": "1%"}
    assert shown["alerts"][0]["integration"] == "events_v1"


def test_v1_from_alertmanager_with_empty_event_action_and_null_payload(tocsin):
    # Alertmanager in v1 mode (service_key:) always sends these two v2 fields
    body = {"service_key": WEB_KEY, "incident_key": "abc", "event_type": "trigger",
            "description": "[FIRING:1] DiskFull", "client": "Alertmanager",
            "client_url": "http://am/#/alerts", "details": {"num_firing": "1"},
            "event_action": "", "payload": None}
    assert tocsin.post(V1, body).status == 200
    body.update(event_type="resolve", description="[RESOLVED] DiskFull")
    assert tocsin.post(V1, body).status == 200
    assert tocsin.incidents()[0]["status"] == "resolved"


def test_v1_trigger_without_incident_key_gets_one(tocsin):
    r = tocsin.post(V1, {"service_key": WEB_KEY, "event_type": "trigger", "description": "x"})
    assert r.status == 200 and len(r.json()["incident_key"]) == 32


def test_v1_errors(tocsin):
    r = tocsin.post(V1, {"service_key": WEB_KEY, "event_type": "explode"})
    assert r.status == 400
    assert r.json()["errors"] == [
        "event_type is invalid (must be one of: trigger acknowledge resolve)"]
    r = tocsin.post(V1, {"service_key": WEB_KEY, "event_type": "trigger"})
    assert r.json()["errors"] == ["description is missing or blank"]
    r = tocsin.post(V1, {"service_key": WEB_KEY, "event_type": "resolve"})
    assert "incident_key is missing or blank" in r.json()["errors"][0]
    r = tocsin.post(V1, {"event_type": "trigger", "description": "x"})
    assert r.json()["errors"] == ["'service_key' is missing or blank"]


def test_v1_rate_limit_is_403(tocsin):
    statuses = [tocsin.post(V1, {"service_key": LIMITED_KEY, "event_type": "trigger",
                                 "description": "x", "incident_key": str(i)}).status
                for i in range(7)]
    assert statuses == [200] * 5 + [403] * 2


def test_change_events_are_kept_and_listed(tocsin):
    body = {"routing_key": WEB_KEY,
            "payload": {"summary": "Build Success: deploy #220",
                        "timestamp": "2020-07-17T08:42:58.315+0000", "source": "ci",
                        "custom_details": {"build": "220"}},
            "links": [{"href": "https://ci.example/220", "text": "View build"}]}
    r = tocsin.post("/v2/change/enqueue", body)
    assert r.status == 202
    assert r.json()["status"] == "success"
    r = tocsin.get("/api/changes?service=website")
    [ch] = r.json()["changes"]
    assert ch["summary"] == "Build Success: deploy #220"
    assert ch["at"] == "2020-07-17T08:42:58.315Z"
    assert ch["source"] == "ci"
    assert ch["payload"]["links"][0]["href"] == "https://ci.example/220"
    assert "routing_key" not in ch["payload"]          # the credential is not stored
    assert tocsin.get("/api/changes?service=database").json()["changes"] == []


def test_change_event_errors(tocsin):
    r = tocsin.post("/v2/change/enqueue", {"routing_key": WEB_KEY, "payload": {}})
    assert r.status == 400
    assert r.json()["errors"] == ["'payload.summary' is missing or blank"]


AM_FIRING = {
    "receiver": "tocsin", "status": "firing",
    "alerts": [{"status": "firing",
                "labels": {"alertname": "DiskFull", "instance": "db1:9100", "severity": "critical"},
                "annotations": {"summary": "Disk 95% full"},
                "startsAt": "2026-11-22T04:37:06Z", "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prom.example/graph?g0.expr=x",
                "fingerprint": "efb0c6c488e007da"}],
    "groupLabels": {"alertname": "DiskFull"},
    "commonLabels": {"alertname": "DiskFull", "instance": "db1:9100", "severity": "critical"},
    "commonAnnotations": {"summary": "Disk 95% full"},
    "externalURL": "http://127.0.0.1:19093", "version": "4",
    "groupKey": "{}:{alertname=\"DiskFull\"}", "truncatedAlerts": 0,
    "notification_reason": "first notification", "routeLabels": {"team": "db"},
}


def am_path(key=DB_KEY):
    return f"/integrations/alertmanager/{key}"


def test_alertmanager_webhook_opens_and_resolves(tocsin):
    r = tocsin.post(am_path(), AM_FIRING)
    assert r.status == 200
    assert r.json()["alerts"] == 1
    [inc] = tocsin.incidents()
    assert inc["service"] == "database" and inc["status"] == "triggered"
    assert inc["title"] == "Disk 95% full"
    assert inc["severity"] == "SEV-2"
    alert = tocsin.show(inc["number"])["alerts"][0]
    assert alert["dedup_key"] == "efb0c6c488e007da"
    assert alert["source"] == "db1:9100"
    assert alert["details"]["labels"]["alertname"] == "DiskFull"
    # a repeat notification folds in; the resolved one resolves
    assert tocsin.post(am_path(), AM_FIRING).status == 200
    resolved = dict(AM_FIRING, status="resolved")
    resolved["alerts"] = [dict(AM_FIRING["alerts"][0], status="resolved",
                               endsAt="2026-11-22T05:00:00Z")]
    assert tocsin.post(am_path(), resolved).status == 200
    [inc] = tocsin.incidents()
    assert inc["status"] == "resolved"
    assert tocsin.show(inc["number"])["alerts"][0]["count"] == 2


def test_alertmanager_alerts_of_one_group_share_an_incident(tocsin):
    body = dict(AM_FIRING)
    second = dict(AM_FIRING["alerts"][0], fingerprint="1111111111111111",
                  labels={"alertname": "DiskFull", "instance": "db2:9100"},
                  annotations={})
    body["alerts"] = [AM_FIRING["alerts"][0], second]
    assert tocsin.post(am_path(), body).status == 200
    [inc] = tocsin.incidents()
    assert inc["alert_count"] == 2
    shown = tocsin.show(inc["number"])
    assert sorted(a["dedup_key"] for a in shown["alerts"]) == ["1111111111111111",
                                                               "efb0c6c488e007da"]
    # without annotations the summary is made from the labels
    assert "DiskFull on db2:9100" in [a["summary"] for a in shown["alerts"]]
    # one alert ends: still open; both end: resolved
    body["alerts"] = [dict(second, status="resolved", endsAt="2026-11-22T05:00:00Z")]
    tocsin.post(am_path(), body)
    assert tocsin.incidents()[0]["status"] == "triggered"
    body["alerts"] = [dict(AM_FIRING["alerts"][0], status="resolved")]
    tocsin.post(am_path(), body)
    assert tocsin.incidents()[0]["status"] == "resolved"


def test_alertmanager_endsat_in_the_past_means_resolved(tocsin):
    tocsin.post(am_path(), AM_FIRING)
    body = dict(AM_FIRING)
    # some senders keep status "firing" but give an end time that has passed
    body["alerts"] = [dict(AM_FIRING["alerts"][0], endsAt="2020-01-01T00:00:00Z")]
    tocsin.post(am_path(), body)
    assert tocsin.incidents()[0]["status"] == "resolved"


def test_alertmanager_031_custom_shapes_and_unknown_key(tocsin):
    r = tocsin.post(am_path("0" * 32), AM_FIRING)
    assert r.status == 404
    r = tocsin.post(am_path(), {"receiver": "x"})
    assert r.status == 400
    assert r.json()["errors"] == ["'alerts' is missing or not an array"]
    r = tocsin.post(am_path(), {"alerts": [{"status": "firing"}]})
    assert r.json()["errors"] == ["'alerts[0].labels' is missing or not an object"]


def test_timeline_shows_what_changed_before_the_incident(tocsin):
    def change(summary, key=WEB_KEY):
        r = tocsin.post("/v2/change/enqueue", {"routing_key": key,
                                               "payload": {"summary": summary, "source": "ci"}})
        assert r.status == 202
    change("deploy #219")
    change("schema migration on db", key=DB_KEY)     # another service: not shown
    tocsin.enqueue(dedup="k", summary="checkout errors")
    change("rollback to #218")
    log = without_notify(tocsin.show(1)["log"])
    assert [(e["type"], e["message"]) for e in log if e["type"] == "change"] == [
        ("change", "deploy #219"), ("change", "rollback to #218")]
    assert [e["type"] for e in log] == ["change", "trigger", "escalate", "change"]
    assert log[0]["actor"] == "ci"
