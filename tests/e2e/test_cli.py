"""The CLI as a person runs it: tables, --json shapes, exit statuses, the README tour."""
import json
import re

from conftest import WEB_KEY, without_notify

INCIDENT_KEYS = {"number", "title", "service", "status", "severity", "urgency", "created_at",
                 "acknowledged_at", "resolved_at", "assigned_to", "escalation_level",
                 "alert_count"}


def test_readme_tour(tocsin):
    r = tocsin.cli("trigger", "-k", WEB_KEY, "-s", "HTTP 500 on /checkout",
                   "--dedup-key", "web/checkout", "--severity", "critical")
    assert r.returncode == 0 and r.stdout == "web/checkout\n"
    r = tocsin.cli("incidents")
    lines = r.stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["#", "STATUS", "SEV", "URGENCY", "SERVICE",
                                             "CREATED (UTC)", "ALERTS", "TITLE"]
    assert re.split(r"\s{2,}", lines[1].strip())[:3] == ["1", "triggered", "SEV-2"]
    assert lines[1].endswith("HTTP 500 on /checkout")
    assert tocsin.cli("ack", "1").stdout == "#1 acknowledged\n"
    assert tocsin.cli("note", "#1", "restarted", "nginx").returncode == 0
    assert tocsin.cli("resolve", "#1").stdout == "#1 resolved\n"
    shown = json.loads(tocsin.cli("show", "1", "--json").stdout)
    assert shown["status"] == "resolved"
    log = without_notify(shown["log"])
    assert [e["type"] for e in log] == ["trigger", "escalate", "ack", "note", "resolve",
                                     "postmortem"]
    assert log[1]["message"] == "level 1: assigned to alice"
    assert log[3]["message"] == "restarted nginx"
    assert log[2]["actor"] == "alice"


def test_incidents_json_shape_and_filters(tocsin):
    tocsin.cli("trigger", "-k", WEB_KEY, "-s", "one", "--dedup-key", "a")
    tocsin.cli("trigger", "-k", WEB_KEY, "-s", "two", "--dedup-key", "b",
               "--severity", "warning")
    tocsin.cli("resolve", "1")
    out = json.loads(tocsin.cli("incidents", "--json").stdout)
    assert [i["number"] for i in out] == [2, 1]
    assert INCIDENT_KEYS <= set(out[0])
    assert out[0]["severity"] == "SEV-4" and out[0]["urgency"] == "low"
    out = json.loads(tocsin.cli("incidents", "--status", "resolved", "--json").stdout)
    assert [i["number"] for i in out] == [1]
    out = json.loads(tocsin.cli("incidents", "--limit", "1", "--json").stdout)
    assert [i["number"] for i in out] == [2]
    out = json.loads(tocsin.cli("incidents", "--service", "database", "--json").stdout)
    assert out == []
    assert tocsin.cli("incidents", "--service", "database").stdout.strip() == "no incidents"


def test_show_prints_the_timeline_in_the_servers_zone(make_tocsin):
    t = make_tocsin(tz="Europe/Paris")
    t.enqueue(dedup="k", summary="Checkout slow")
    r = t.cli("show", "1")
    assert r.returncode == 0
    assert r.stdout.startswith("#1 Checkout slow\n")
    assert "Timeline (Europe/Paris):" in r.stdout
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T\s+trigger\s+events_v2", r.stdout), r.stdout


def test_severity_and_maintenance_commands(tocsin):
    tocsin.enqueue(dedup="k")
    assert tocsin.cli("severity", "1", "SEV-1").returncode == 0
    assert tocsin.show(1)["severity"] == "SEV-1"
    r = tocsin.cli("maintenance", "website", "--for", "2h")
    assert r.returncode == 0 and r.stdout.startswith("website in maintenance until ")


def test_exit_statuses(tocsin):
    tocsin.enqueue(dedup="k")
    assert tocsin.cli("ack", "abc").returncode == 2                 # usage
    assert tocsin.cli("severity", "1", "SEV-9").returncode == 2
    assert tocsin.cli("maintenance", "website", "--for", "soon").returncode == 2
    assert tocsin.cli("frobnicate").returncode == 2
    r = tocsin.cli("ack", "99")                                     # the operation failed
    assert r.returncode == 1 and "no incident #99" in r.stderr
    r = tocsin.cli("ack", "1", user="olive")
    assert r.returncode == 1 and "responder" in r.stderr
    r = tocsin.run("incidents")                                     # no token
    assert r.returncode == 1 and "authentication required" in r.stderr
    r = tocsin.cli("incidents", env={"TOCSIN_URL": "http://127.0.0.1:1"})
    assert r.returncode == 1 and "cannot reach tocsin" in r.stderr


def test_help_lists_what_works(tocsin):
    r = tocsin.run("help")
    assert r.returncode == 0
    for cmd in ["serve", "config check", "token create", "trigger", "ack", "resolve",
                "escalate", "reassign", "note", "severity", "incidents", "show", "maintenance",
                "oncall", "shifts", "override", "overrides"]:
        assert re.search(rf"^  {cmd}\b", r.stdout, re.M), cmd
