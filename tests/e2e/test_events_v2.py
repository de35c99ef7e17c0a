"""PagerDuty Events API v2 at /v2/enqueue: what real senders (Alertmanager, pdpyras,
go-pagerduty) send and expect back, and DESIGN.md section 7's dedup rules."""
import json

from conftest import DB_KEY, GROUPED_KEY, LIMITED_KEY, WEB_KEY, request, without_notify


def test_trigger_is_answered_202_with_the_dedup_key_and_opens_an_incident(tocsin):
    r = tocsin.enqueue(dedup="srv01/HTTP")
    assert r.status == 202
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"status": "success", "message": "Event processed",
                        "dedup_key": "srv01/HTTP"}
    [inc] = tocsin.incidents()
    assert inc["number"] == 1
    assert inc["title"] == "HTTP down on srv01"
    assert inc["service"] == "website"
    assert inc["status"] == "triggered"
    assert inc["severity"] == "SEV-2"       # critical -> SEV-2
    assert inc["urgency"] == "high"
    assert inc["acknowledged_at"] is None and inc["resolved_at"] is None
    assert inc["alert_count"] == 1
    assert inc["created_at"].endswith("Z")


def test_trigger_without_dedup_key_gets_one_made_by_the_server(tocsin):
    r = tocsin.enqueue()
    key = r.json()["dedup_key"]
    assert r.status == 202 and len(key) == 32
    # the returned key addresses the alert: resolving with it resolves the incident
    assert tocsin.enqueue("resolve", dedup=key).status == 202
    assert tocsin.incidents()[0]["status"] == "resolved"


def test_same_dedup_key_folds_into_one_alert_without_a_new_incident(tocsin):
    for _ in range(3):
        assert tocsin.enqueue(dedup="disk/db1").status == 202
    [inc] = tocsin.incidents()
    shown = tocsin.show(inc["number"])
    assert len(shown["alerts"]) == 1
    assert shown["alerts"][0]["count"] == 3
    assert [e["type"] for e in without_notify(shown["log"])] == [
        "trigger", "escalate", "alert", "alert"]
    assert "3 times" in shown["log"][-1]["message"]


def test_same_dedup_key_on_another_service_is_another_incident(tocsin):
    tocsin.enqueue(dedup="same")
    tocsin.enqueue(dedup="same", key=DB_KEY)
    assert sorted(i["service"] for i in tocsin.incidents()) == ["database", "website"]


def test_acknowledge_and_resolve_events_act_on_the_incident(tocsin):
    tocsin.enqueue(dedup="k1")
    r = tocsin.enqueue("acknowledge", dedup="k1")
    assert r.status == 202 and r.json()["dedup_key"] == "k1"
    inc = tocsin.incidents()[0]
    assert inc["status"] == "acknowledged" and inc["acknowledged_at"]
    assert tocsin.enqueue("resolve", dedup="k1").status == 202
    inc = tocsin.show(1)
    assert inc["status"] == "resolved" and inc["resolved_at"]
    assert inc["alerts"][0]["status"] == "resolved"
    log = without_notify(inc["log"])
    assert [e["type"] for e in log] == ["trigger", "escalate", "ack", "resolve",
                                     "postmortem"]
    assert log[2]["actor"] == "events_v2"


def test_resolve_of_an_unknown_key_is_202_and_echoes_the_key(tocsin):
    r = tocsin.enqueue("resolve", dedup="never-seen")
    assert r.status == 202
    assert r.json() == {"status": "success", "message": "Event processed",
                        "dedup_key": "never-seen"}
    assert tocsin.incidents() == []


def test_ack_or_resolve_with_another_services_key_changes_nothing(tocsin):
    tocsin.enqueue(dedup="k1")
    assert tocsin.enqueue("acknowledge", dedup="k1", key=DB_KEY).status == 202
    assert tocsin.enqueue("resolve", dedup="k1", key=DB_KEY).status == 202
    assert tocsin.incidents()[0]["status"] == "triggered"


def test_trigger_after_resolve_opens_a_new_incident(tocsin):
    tocsin.enqueue(dedup="flappy")
    tocsin.enqueue("resolve", dedup="flappy")
    tocsin.enqueue(dedup="flappy")
    incs = tocsin.incidents()
    assert [(i["number"], i["status"]) for i in incs] == [(2, "triggered"), (1, "resolved")]


def test_group_window_joins_new_alerts_to_the_open_incident(tocsin):
    tocsin.enqueue(dedup="a", key=GROUPED_KEY)
    tocsin.enqueue(dedup="b", key=GROUPED_KEY, summary="second problem")
    [inc] = tocsin.incidents()
    assert inc["alert_count"] == 2
    # the incident resolves only when its last alert does
    tocsin.enqueue("resolve", dedup="a", key=GROUPED_KEY)
    assert tocsin.incidents()[0]["status"] == "triggered"
    tocsin.enqueue("resolve", dedup="b", key=GROUPED_KEY)
    assert tocsin.incidents()[0]["status"] == "resolved"


def test_severity_maps_to_sev_and_urgency(tocsin):
    expect = {"critical": ("SEV-2", "high"), "error": ("SEV-3", "high"),
              "warning": ("SEV-4", "low"), "info": ("SEV-5", "low")}
    for sev in expect:
        assert tocsin.enqueue(dedup=sev, severity=sev).status == 202
    by_key = {}
    for inc in tocsin.incidents():
        by_key[tocsin.show(inc["number"])["alerts"][0]["dedup_key"]] = \
            (inc["severity"], inc["urgency"])
    assert by_key == expect


def test_custom_details_are_kept_as_opaque_json(tocsin):
    details = {"firing": [{"labels": {"a": "b"}}], "num_firing": 1, "nested": {"x": [1, 2]}}
    body = {"routing_key": WEB_KEY, "event_action": "trigger", "dedup_key": "d",
            "payload": {"summary": "s", "source": "h", "severity": "error",
                        "custom_details": details, "timestamp": "2015-07-17T08:42:58.315+0000",
                        "component": "db", "group": "prod", "class": "disk"},
            "client": "Alertmanager", "client_url": "http://am/#/alerts",
            "links": [{"href": "http://x", "text": "x"}], "unknown_future_field": {"a": 1}}
    assert tocsin.post("/v2/enqueue", body).status == 202
    assert tocsin.show(1)["alerts"][0]["details"] == details


def errors_of(r):
    assert r.status == 400, r
    doc = r.json()
    assert doc["status"] == "invalid event"
    assert doc["message"] == "Event object is invalid"
    return doc["errors"]


def test_invalid_events_are_400_naming_every_bad_field(tocsin):
    r = tocsin.post("/v2/enqueue", {"routing_key": WEB_KEY, "event_action": "trigger",
                                    "payload": {"severity": "fatal"}})
    errs = errors_of(r)
    assert "'payload.summary' is missing or blank" in errs
    assert "'payload.source' is missing or blank" in errs
    assert any("'payload.severity' is invalid" in e for e in errs)
    assert tocsin.incidents() == []


def test_each_required_field_is_checked(tocsin):
    cases = [
        ({"event_action": "trigger"}, "'routing_key' is missing or blank"),
        ({"routing_key": "nope", "event_action": "trigger"},
         "'routing_key' is not the integration key of any service"),
        ({"routing_key": WEB_KEY, "event_action": "explode"},
         "'event_action' is invalid (must be one of: trigger acknowledge resolve)"),
        ({"routing_key": WEB_KEY, "event_action": "trigger"},
         "'payload' is missing or not an object"),
        ({"routing_key": WEB_KEY, "event_action": "resolve"},
         "'dedup_key' is missing or blank (required to acknowledge or resolve)"),
        ({"routing_key": WEB_KEY, "event_action": "resolve", "dedup_key": 42},
         "'dedup_key' must be a string"),
        ({"routing_key": WEB_KEY, "event_action": "trigger",
          "payload": {"summary": "s", "source": "h", "severity": "info", "timestamp": "yesterday"}},
         "'payload.timestamp' is not an ISO 8601 date-time"),
    ]
    for body, message in cases:
        assert message in errors_of(tocsin.post("/v2/enqueue", body)), body


def test_length_limits_name_the_field(tocsin):
    errs = errors_of(tocsin.enqueue(summary="x" * 1025))
    assert errs == ["'payload.summary' is longer than 1024 characters"]
    assert tocsin.enqueue(summary="é" * 1024).status == 202   # characters, not bytes
    errs = errors_of(tocsin.enqueue(dedup="k" * 256))
    assert errs == ["'dedup_key' is longer than 255 characters"]
    assert tocsin.enqueue(dedup="k" * 255).status == 202


def test_malformed_json_is_400_unrecognized_object(tocsin):
    for raw in [b"{not json", b"[1,2,3]", b"", b"\"just a string\""]:
        r = tocsin.post("/v2/enqueue", raw=raw, headers={"Content-Type": "application/json"})
        assert r.status == 400, raw
        doc = r.json()
        assert doc["status"] == "Unrecognized object"
        assert doc["message"] == "Event object format is unrecognized"
        assert doc["errors"][0].startswith("JSON parse error")


def test_json_nested_deeper_than_32_is_refused(tocsin):
    deep = {"routing_key": WEB_KEY, "event_action": "trigger",
            "payload": {"summary": "s", "source": "h", "severity": "info",
                        "custom_details": {}}}
    node = deep["payload"]["custom_details"]
    for _ in range(40):
        node["x"] = {}
        node = node["x"]
    r = tocsin.post("/v2/enqueue", deep)
    assert r.status == 400
    assert r.json()["errors"] == ["JSON nesting is deeper than 32 levels"]


def test_body_over_512kb_is_413_without_a_store_write(tocsin):
    big = {"routing_key": WEB_KEY, "event_action": "trigger",
           "payload": {"summary": "s", "source": "h", "severity": "info",
                       "custom_details": {"blob": "x" * 520_000}}}
    r = tocsin.post("/v2/enqueue", big)
    assert r.status == 413
    assert r.json()["errors"] == ["body is larger than 512000 bytes"]
    assert tocsin.incidents() == []


def test_headers_over_8kib_are_431(tocsin):
    r = request(tocsin.port, "GET", "/healthz", headers={"X-Big": "y" * 9000})
    assert r.status == 431
    assert "headers" in r.json()["errors"][0]


def test_rate_limit_answers_429_with_retry_after_and_keeps_what_was_accepted(tocsin):
    statuses = [tocsin.enqueue(key=LIMITED_KEY, dedup=f"r{i}").status for i in range(8)]
    assert statuses[:5] == [202] * 5
    assert statuses[5:] == [429] * 3
    r = tocsin.enqueue(key=LIMITED_KEY, dedup="again")
    assert r.status == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json()["status"] == "throttle event"
    # the five accepted events are all there; other keys are not limited
    assert len(tocsin.incidents(service="limited")) == 5
    assert tocsin.enqueue(dedup="other-service").status == 202


def test_unknown_paths_and_methods(tocsin):
    assert request(tocsin.port, "GET", "/nope").status == 404
    r = request(tocsin.port, "GET", "/v2/enqueue")
    assert r.status == 405


def test_health_and_readiness(tocsin):
    assert request(tocsin.port, "GET", "/healthz").json() == {"status": "ok"}
    assert request(tocsin.port, "GET", "/readyz").json() == {"status": "ok"}


def test_bad_input_never_crashes_the_daemon(tocsin):
    junk = [b"\x00\xff\xfe", b"{\"routing_key\": \"\\ud800\"}", b"{" * 10000,
            b"{\"payload\": null, \"event_action\": \"\"}", b"[" * 100 + b"]" * 100,
            json.dumps({"routing_key": WEB_KEY, "event_action": "trigger",
                        "payload": {"summary": 5, "source": [], "severity": {}}}).encode()]
    for raw in junk:
        r = tocsin.post("/v2/enqueue", raw=raw, headers={"Content-Type": "application/json"})
        assert r.status == 400, raw
    assert tocsin.enqueue().status == 202


def test_dedup_key_with_quotes_and_control_characters_is_echoed_as_valid_json(tocsin):
    key = 'db "primary"\\replica\t\u00e9\u2603'
    r = tocsin.enqueue(dedup=key)
    assert r.status == 202
    assert r.json()["dedup_key"] == key
    assert tocsin.show(1)["alerts"][0]["dedup_key"] == key


def test_hundreds_of_slow_idle_connections_do_not_starve_real_senders(tocsin):
    import socket
    import time
    idle = []
    try:
        for _ in range(500):
            s = socket.create_connection(("127.0.0.1", tocsin.port))
            s.sendall(b"POST /v2/enqueue HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
            idle.append(s)
        t0 = time.time()
        assert tocsin.enqueue(dedup="real").status == 202
        assert time.time() - t0 < 2
    finally:
        for s in idle:
            s.close()
