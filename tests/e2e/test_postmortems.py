"""Postmortems end to end: an incident played through the real daemon (trigger, page,
escalate, ack, notes, severity, resolve) with the test clock, the draft it leaves, the
review workflow, the action items and their reminders, through the API and the CLI,
with a real SMTP server receiving what the owners are told."""
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT, WEB_KEY, wait_for

KEY = "77777777777777777777777777777777"
LOW = "88888888888888888888888888888888"
CLOCK = {"TOCSIN_TEST_CLOCK": "1"}
EXAMPLE = (ROOT / "examples" / "postmortem.md").read_text()


def config(smtp):
    text = f"""\
server: {{listen: "127.0.0.1:@PORT@", time_zone: UTC, public_url: "http://tocsin.example"}}
storage: {{sqlite: @DB@}}
smtp: {{url: "smtp://127.0.0.1:{smtp.port}", from: "tocsin@example.com"}}
users:
  - id: alice
    name: Alice Martin
    role: admin
    contact_methods: [{{id: mail, type: email, address: alice@example.com}}]
  - id: bob
    name: Bob Okafor
    role: responder
    contact_methods:
      - {{id: mail, type: email, address: bob@example.com}}
      - {{id: home, type: email, address: bob@home.example}}
    notification_rules:
      - {{contact: mail, after: 0m}}
      - {{contact: home, after: 0m, urgency: low}}
  - id: carol
    name: Carol Nguyen
    role: responder
    contact_methods: [{{id: mail, type: email, address: carol@example.com}}]
  - {{id: olive, name: Olive Reed, role: observer}}
escalation_policies:
  - id: web-default
    levels:
      - {{targets: [user:alice], escalate_after: 10m}}
      - {{targets: [user:bob], escalate_after: 10m}}
services:
  - {{id: web, name: Public website, escalation_policy: web-default, integration_keys: [{KEY}]}}
  - {{id: batch, name: Batch jobs, integration_keys: [{LOW}], postmortem_at: SEV-2}}
"""
    text = text.replace("{", "{{").replace("}", "}}")
    return text.replace("@PORT@", "{port}").replace("@DB@", "{db}")


@pytest.fixture
def t(make_tocsin, smtp_receiver):
    return make_tocsin(config(smtp_receiver), env=CLOCK)


def mails_to(smtp, address, subject):
    return [m.message for m in list(smtp.messages)
            if address in m.rcpt_tos and subject in str(m.message["Subject"])]


def body_of(msg):
    return msg.get_body(("plain",)).get_content()


def play(t):
    """Incident #1 on web: triggered, paged to alice, not acknowledged, escalated to
    bob after 10 minutes, acknowledged by bob, two notes (one a misleading path),
    raised to SEV-1, resolved by bob."""
    r = t.enqueue(key=KEY, dedup="checkout", summary="checkout returns HTTP 500")
    assert r.status == 202, r
    t.advance("10m")
    wait_for(lambda: any(e["type"] == "escalate" and "bob" in e["message"]
                         for e in t.show(1)["log"]), what="escalation to bob")
    t.advance("2m")
    assert t.post("/api/incidents/1/ack", user="bob").status == 200
    t.advance("3m")
    assert t.post("/api/incidents/1/notes", {"text": "restarted the web servers; the "
                                             "errors came back #misleading"},
                  user="bob").status == 200
    t.advance("4m")
    assert t.post("/api/incidents/1/notes", {"text": "rolled back deploy 220"},
                  user="bob").status == 200
    assert t.post("/api/incidents/1/severity", {"severity": "SEV-1"},
                  user="bob").status == 200
    t.advance("5m")
    assert t.post("/api/incidents/1/resolve", user="bob").status == 200


def postmortem(t, n=1):
    r = t.get(f"/api/postmortems/{n}")
    assert r.status == 200, r
    return r.json()


def section(md, name):
    m = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## |\Z)", md, re.S | re.M)
    assert m, f"no section {name} in\n{md}"
    return m.group(1)


def hhmm(iso):
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%H:%M")


def wait_log_settled(t, n=1):
    """The page deliveries are written by the notification worker: wait until every
    planned one has its outcome in the log."""
    def settled():
        pending = [x for x in t.get(f"/api/incidents/{n}/notifications").json()
                   ["notifications"] if x["status"] == "pending"]
        return not pending
    wait_for(settled, what="deliveries settled")


def test_resolving_a_sev2_incident_drafts_a_postmortem_owned_by_the_resolver(t, smtp_receiver):
    play(t)
    pms = t.get("/api/postmortems").json()["postmortems"]
    assert len(pms) == 1
    pm = pms[0]
    assert (pm["incident"], pm["owner"], pm["status"], pm["severity"]) == (1, "bob", "draft",
                                                                            "SEV-1")
    assert pm["services"] == ["web"] and pm["detection"] == "events_v2"
    inc = t.show(1)
    assert pm["detected"] == inc["created_at"] and pm["resolved"] == inc["resolved_at"]
    first_ack = next(e["at"] for e in inc["log"] if e["type"] == "ack")
    assert pm["acknowledged"] == first_ack
    entry = [e for e in inc["log"] if e["type"] == "postmortem"]
    assert len(entry) == 1 and "postmortem #1 required" in entry[0]["message"]
    assert "owner bob" in entry[0]["message"]
    # the owner is told through their first contact method
    wait_for(lambda: mails_to(smtp_receiver, "bob@example.com", "postmortem"),
             what="the owner's e-mail")
    text = body_of(mails_to(smtp_receiver, "bob@example.com", "postmortem")[0])
    assert "Postmortem #1 of incident #1" in text
    assert "http://tocsin.example/api/postmortems/1/page?token=" in text


def test_draft_timeline_matches_the_log_exactly(t):
    play(t)
    wait_log_settled(t)
    # a redraft reads the timeline as it is now, deliveries included
    assert t.post("/api/postmortems/1/redraft", {}, user="bob").status == 200
    md = postmortem(t)["markdown"]
    log = [e for e in t.show(1)["log"] if e["type"] != "postmortem"]
    bullets = [line for line in section(md, "Timeline").splitlines() if line.startswith("- ")]
    assert len(bullets) == len(log), (bullets, log)
    for bullet, e in zip(bullets, log):
        assert bullet.startswith(f"- {hhmm(e['at'])} - "), (bullet, e)
        if e["type"] == "resolve" and e["message"] == "resolved":
            assert bullet.endswith(f"Resolved by {e['actor']}."), bullet
        else:
            assert e["message"] in bullet, (bullet, e)
    kinds = [e["type"] for e in log]
    for needed in ("trigger", "escalate", "notify", "ack", "note", "severity", "resolve"):
        assert needed in kinds, kinds
    assert "All times are UTC." in section(md, "Timeline")
    assert "Misleading path, noted by bob: restarted the web servers" in md
    recovery = section(md, "Resolution and Recovery")
    assert "restarted the web servers; the errors came back" in recovery
    summary = section(md, "Issue Summary")
    start, end = hhmm(log[0]["at"]), hhmm(t.show(1)["resolved_at"])
    assert f"From {start} to {end} UTC on " in summary and "(24 minutes)" in summary
    assert "acknowledged by bob after 12 minutes" in summary


def test_draft_lint_reports_only_the_human_gaps(t):
    play(t)
    md = postmortem(t)["markdown"]
    lint = t.get("/api/postmortems/1/lint").json()
    gaps = md.count("<!-- fill in:")
    assert gaps >= 4
    assert lint["errors"] == gaps and lint["warnings"] == 0, lint
    assert all(f["message"].startswith("unfilled gap:") for f in lint["findings"]), lint
    # the CLI on the stored one: the same findings, exit 1
    r = t.cli("postmortem", "lint", "1", user="alice")
    assert r.returncode == 1, r
    lines = r.stdout.splitlines()
    assert len(lines) == gaps
    assert all(re.match(r"postmortem-1\.md:\d+: error: unfilled gap:", x) for x in lines), lines


def test_below_the_threshold_no_postmortem_until_asked(t):
    assert t.enqueue(key=LOW, dedup="slow", summary="nightly export slow",
                     severity="error").status == 202
    assert t.post("/api/incidents/1/resolve", user="alice").status == 200
    assert t.get("/api/postmortems").json()["postmortems"] == []
    r = t.cli("postmortem", "new", "1", user="alice")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"
    pm = postmortem(t)
    assert pm["owner"] == "alice" and pm["severity"] == "SEV-3"
    again = t.cli("postmortem", "new", "#1", user="alice")
    assert again.returncode == 1
    assert "incident #1 has postmortem #1 already" in again.stderr
    missing = t.cli("postmortem", "new", "9", user="alice")
    assert missing.returncode == 1 and "no incident #9" in missing.stderr
    assert t.cli("postmortem", "new", "x", user="alice").returncode == 2


def test_a_confirmed_change_is_the_start_of_the_impact(t):
    r = t.post("/v2/change/enqueue", {"routing_key": KEY, "payload": {
        "summary": "deploy 220 of the website", "source": "ci.example"}})
    assert r.status == 202, r
    t.advance("4m")
    assert t.enqueue(key=KEY, dedup="x", severity="error").status == 202
    t.advance("6m")
    assert t.post("/api/incidents/1/resolve", user="alice").status == 200
    change = t.get("/api/changes").json()["changes"][0]
    bad = t.cli("postmortem", "new", "1", "--start-change", "99", user="alice")
    assert bad.returncode == 1 and "change 99 is not a change event of web" in bad.stderr
    r = t.cli("postmortem", "new", "1", "--start-change", str(change["id"]), user="alice")
    assert r.returncode == 0, r.stderr
    pm = postmortem(t)
    assert pm["impact_start"] == change["at"]
    timeline = section(pm["markdown"], "Timeline")
    first = [x for x in timeline.splitlines() if x.startswith("- ")][0]
    assert first == (f"- {hhmm(change['at'])} - Impact began with this change: deploy 220 of "
                     "the website (ci.example).")
    assert "(10 minutes)" in section(pm["markdown"], "Issue Summary")
    assert "deploy 220 of the website (ci.example), change" in section(pm["markdown"],
                                                                      "Root Cause")


def complete():
    """The example postmortem, with due dates a week ahead."""
    due = (datetime.now(timezone.utc) + timedelta(days=7)).strftime("%Y-%m-%d")
    return re.sub(r"due \d{4}-\d\d-\d\d", f"due {due}", EXAMPLE)


def test_review_workflow_refuses_what_it_must(t, smtp_receiver):
    play(t)
    # a draft with gaps cannot go to review
    r = t.post("/api/postmortems/1/submit", {}, user="bob")
    assert r.status == 409 and "lint error" in r.body, r
    r = t.post("/api/postmortems/1/markdown", {"markdown": complete()}, user="bob")
    assert r.status == 200, r
    pm = r.json()
    assert pm["lint"]["errors"] == 0 and pm["revision"] == 2
    assert [a["owner"] for a in pm["action_items"]] == ["bob", "carol", "alice", "bob"]
    assert [a["status"] for a in pm["action_items"]] == ["open", "open", "open", "done"]
    sub = t.cli("postmortem", "submit", "1", user="bob")
    assert sub.returncode == 0 and "submitted (in_review)" in sub.stdout, sub
    # approval by the owner is refused; by another reviewer it counts
    own = t.cli("postmortem", "approve", "1", user="bob")
    assert own.returncode == 1
    assert "bob owns postmortem #1: a reviewer other than the owner approves it" in own.stderr
    early = t.post("/api/postmortems/1/publish", {}, user="bob")
    assert early.status == 409 and "no approval yet" in early.body
    assert t.cli("postmortem", "approve", "1", user="carol").returncode == 0
    assert t.post("/api/postmortems/1/approve", {}, user="carol").status == 409
    assert t.cli("postmortem", "publish", "1", user="bob").returncode == 0
    assert postmortem(t)["status"] == "published"
    # the published text is the record
    r = t.post("/api/postmortems/1/markdown", {"markdown": complete()}, user="bob")
    assert r.status == 409 and "published" in r.body
    # closing needs every item done or declined
    shut = t.cli("postmortem", "close", "1", user="bob")
    assert shut.returncode == 1 and "3 open action items" in shut.stderr, shut.stderr
    items = postmortem(t)["action_items"]
    assert t.cli("actions", "done", str(items[0]["id"]), user="bob").returncode == 0
    assert t.cli("actions", "done", str(items[1]["id"]), "--ticket",
                 "https://tickets.example/OPS-7", user="carol").returncode == 0
    no_reason = t.cli("actions", "decline", str(items[2]["id"]), user="alice")
    assert no_reason.returncode == 2
    assert t.cli("actions", "decline", str(items[2]["id"]), "the", "load", "test", "moved",
                 "to", "the", "release", "pipeline", user="alice").returncode == 0
    pm = postmortem(t)
    assert [a["status"] for a in pm["action_items"]] == ["done", "done", "declined", "done"]
    assert pm["action_items"][2]["reason"] == "the load test moved to the release pipeline"
    assert pm["action_items"][1]["ticket"] == "https://tickets.example/OPS-7"
    # done items are ticked in the Markdown too
    boxes = re.findall(r"^- \[(.)\] ", section(pm["markdown"], "Corrective and Preventative "
                                                             "Measures"), re.M)
    assert boxes == ["x", "x", " ", "x"]
    assert t.cli("postmortem", "close", "1", user="bob").returncode == 0
    assert postmortem(t)["status"] == "closed"
    # closed is final
    late = t.post("/api/postmortems/1/fields", {"owner": "carol"}, user="alice")
    assert late.status == 409 and "closed" in late.body
    again = t.cli("actions", "reopen", str(items[0]["id"]), user="bob")
    assert again.returncode == 1 and "its action items are final" in again.stderr
    assert postmortem(t)["action_items"][0]["status"] == "done"
    log = [e["message"] for e in t.show(1)["log"] if e["type"] == "postmortem"]
    assert log[1:] == ["postmortem #1 published", "postmortem #1 closed"]


def test_history_says_who_changed_what_and_keeps_every_body(t):
    play(t)
    first = postmortem(t)["markdown"]
    assert t.post("/api/postmortems/1/markdown", {"markdown": complete()},
                  user="bob").status == 200
    r = t.post("/api/postmortems/1/fields", {"mitigated": "2026-11-22T09:52:00Z",
                                             "factors": "pool size default, no load test"},
               user="carol")
    assert r.status == 200, r
    assert r.json()["mitigated"] == "2026-11-22T09:52:00Z"
    assert r.json()["factors"] == ["pool size default", "no load test"]
    assert t.post("/api/postmortems/1/submit", {}, user="bob").status == 200
    assert t.post("/api/postmortems/1/reopen", {"reason": "add the customer numbers"},
                  user="carol").status == 200
    h = t.get("/api/postmortems/1/history").json()["revisions"]
    got = [(x["revision"], x["actor"], x["change"], x["body"]) for x in h]
    assert got == [
        (1, "bob", "created from the timeline", True),
        (2, "bob", "body", True),
        (3, "carol", 'mitigated: "2026-11-22T09:52:00Z", factors: "pool size default, no load '
                     'test"', False),
        (4, "bob", "status: draft -> in_review", False),
        (5, "carol", "status: in_review -> draft: add the customer numbers", False),
    ], got
    out = t.cli("postmortem", "history", "1", user="olive")
    assert out.returncode == 0 and "status: draft -> in_review" in out.stdout
    assert first.startswith("# Postmortem: checkout returns HTTP 500 (incident #1)")


def test_setting_the_owner_tells_the_new_owner_and_bad_fields_are_named(t, smtp_receiver):
    play(t)
    r = t.cli("postmortem", "set", "1", "owner=carol", user="alice")
    assert r.returncode == 0, r.stderr
    assert postmortem(t)["owner"] == "carol"
    wait_for(lambda: mails_to(smtp_receiver, "carol@example.com", "postmortem"),
             what="the new owner's e-mail")
    for arg, why in (("owner=nobody", "owner must be a user of the configuration"),
                     ("colour=red", "unknown field 'colour'"),
                     ("mitigated=yesterday", "mitigated must be an ISO 8601 time"),
                     ("services=web,shop", "no service 'shop'"),
                     ("severity=SEV-9", "severity must be SEV-1 to SEV-5"),
                     ("incidents=1,9", "incidents: no incident #9"),
                     ("incidents=x", "incidents must be incident numbers")):
        bad = t.cli("postmortem", "set", "1", arg, user="alice")
        assert bad.returncode == 1 and why in bad.stderr, (arg, bad.stderr)
    assert postmortem(t)["revision"] == 2   # the refused changes wrote nothing
    assert t.cli("postmortem", "set", "1", "owner", user="alice").returncode == 2


def test_overdue_items_remind_their_owner_once_a_day(t, smtp_receiver):
    play(t)
    due = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%Y-%m-%d")
    body = re.sub(r"\(@(\w+), due \d{4}-\d\d-\d\d\)", rf"(@\1, due {due})", complete())
    assert t.post("/api/postmortems/1/markdown", {"markdown": body}, user="bob").status == 200
    assert t.get("/api/actions?overdue=1").json()["action_items"] == []
    before = len(mails_to(smtp_receiver, "carol@example.com", "overdue"))
    t.advance("3d")
    wait_for(lambda: len(mails_to(smtp_receiver, "carol@example.com", "overdue")) > before,
             what="carol's reminder")
    overdue = t.get("/api/actions?overdue=1").json()["action_items"]
    assert sorted(a["owner"] for a in overdue) == ["alice", "bob", "carol"]
    assert all(a["overdue"] and a["reminded_at"] for a in overdue)
    text = body_of(mails_to(smtp_receiver, "carol@example.com", "overdue")[0])
    assert "of postmortem #1 was due " + due in text and "tocsin actions done" in text
    r = t.cli("actions", "--overdue", "--owner", "carol", user="alice")
    assert r.returncode == 0 and "connection pool saturation check" in r.stdout, r.stdout
    assert "carol" in r.stdout and "bob" not in r.stdout.split("\n", 1)[1]
    # not again within the day
    count = len(mails_to(smtp_receiver, "carol@example.com", "overdue"))
    t.advance("1h")
    t.advance("1h")
    assert len(mails_to(smtp_receiver, "carol@example.com", "overdue")) == count
    assert not [m for m in mails_to(smtp_receiver, "bob@example.com", "overdue")
                if "saturation check" in body_of(m)]
    assert mails_to(smtp_receiver, "bob@home.example", "overdue") == []
    # a week past due it escalates: paged like any page, through the notification rules
    # (bob's low-urgency one reaches his home address), and to the postmortem's owner
    t.advance("8d")
    wait_for(lambda: [m for m in mails_to(smtp_receiver, "bob@example.com", "overdue")
                      if "saturation check" in body_of(m)], what="the escalated reminder")
    wait_for(lambda: [m for m in mails_to(smtp_receiver, "bob@home.example", "overdue")
                      if "saturation check" in body_of(m)], what="the page through the rules")
    assert len(mails_to(smtp_receiver, "carol@example.com", "overdue")) == count + 1


def test_ticking_a_box_in_the_markdown_marks_the_item_done(t):
    play(t)
    assert t.post("/api/postmortems/1/markdown", {"markdown": complete()},
                  user="bob").status == 200
    ids = [a["id"] for a in postmortem(t)["action_items"]]
    ticked = complete().replace("- [ ] Set the connection pool", "- [x] Set the connection pool")
    # an item reworded keeps its id and status by its place in the list
    ticked = ticked.replace("Run the checkout load test", "Run the checkout load test twice")
    pm = t.post("/api/postmortems/1/markdown", {"markdown": ticked}, user="bob").json()
    assert [a["id"] for a in pm["action_items"]] == ids
    assert [a["status"] for a in pm["action_items"]] == ["done", "open", "open", "done"]
    assert "twice" in pm["action_items"][2]["text"]


def test_regression_an_item_added_at_the_top_takes_nobodys_place(t):
    """An item inserted before the others took the first one's row by its place,
    and each item below took its neighbour's status."""
    play(t)
    ticked = complete().replace("- [ ] Set the connection pool", "- [x] Set the connection pool")
    pm = t.post("/api/postmortems/1/markdown", {"markdown": ticked}, user="bob").json()
    ids = [a["id"] for a in pm["action_items"]]
    top = ticked.replace("- [x] Set the connection pool",
                         "- [ ] Page the database team on pool alerts (@carol, due 2026-12-30)\n"
                         "- [x] Set the connection pool")
    pm = t.post("/api/postmortems/1/markdown", {"markdown": top}, user="bob").json()
    items = pm["action_items"]
    assert [a["id"] for a in items[1:]] == ids and items[0]["id"] not in ids
    assert [a["status"] for a in items] == ["open", "done", "open", "open", "done"]
    assert items[0]["owner"] == "carol" and items[0]["due"] == "2026-12-30"


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.marks = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        cls = dict(attrs).get("class", "")
        if tag == "g" and cls.startswith("mark "):
            self.marks.append(cls.split()[1])


def test_the_daemon_serves_the_page_with_its_diagram(t):
    play(t)
    token = t.token("alice")
    r = t.get(f"/api/postmortems/1/page?token={token}", user=None)
    assert r.status == 200 and r.headers.get("Content-Type", "").startswith("text/html"), r
    page = _Page()
    page.feed(r.body)
    assert "svg" in page.tags and "script" not in page.tags
    for kind in ("detection", "page", "ack", "escalation", "resolution"):
        assert kind in page.marks, page.marks
    assert t.get("/api/postmortems/1/page", user=None).status == 401
    # the CLI renders the stored one too
    out = Path(t.tmp) / "pm.html"
    assert t.cli("postmortem", "render", "1", "-o", str(out), user="alice").returncode == 0
    assert "<svg" in out.read_text()


def test_postmortems_survive_a_restart_and_list_by_filter(t):
    play(t)
    t.restart()
    r = t.cli("postmortem", "list", "--status", "draft", user="alice")
    assert r.returncode == 0 and "checkout returns HTTP 500" in r.stdout, r
    assert t.cli("postmortem", "list", "--owner", "carol",
                 user="alice").stdout.strip() == "no postmortems"
    show = t.cli("postmortem", "show", "1", user="alice")
    assert show.returncode == 0 and "owner:" in show.stdout and "lint:" in show.stdout
    md = t.cli("postmortem", "show", "1", "--markdown", user="alice")
    assert md.stdout == postmortem(t)["markdown"]
    assert t.get("/api/postmortems/9").status == 404
    assert t.cli("postmortem", "show", "9", user="alice").returncode == 1


def test_an_observer_reads_but_cannot_change_a_postmortem_and_bad_requests_are_named(t):
    play(t)
    assert t.get("/api/postmortems/1", user="olive").status == 200
    assert t.post("/api/postmortems/1/approve", {}, user="olive").status == 403
    assert postmortem(t)["approvals"] == []
    r = t.post("/api/postmortems", {"incident": 1}, user="alice")
    assert r.status == 409 and "has postmortem #1 already" in r.body
    bad = t.post("/api/postmortems", {"incident": "x"}, user="alice")
    assert bad.status == 400 and "'incident' must be an incident number" in bad.body
    nope = t.post("/api/postmortems/1/dance", {}, user="alice")
    assert nope.status == 404 and "the steps are submit" in nope.body
    odd = t.post("/api/postmortems/1/redraft", {"start_change": "x"}, user="alice")
    assert odd.status == 400 and "'start_change' must be a change event id" in odd.body
    assert t.get("/api/postmortems?status=finished").status == 400
    empty = t.post("/api/postmortems/1/markdown", {}, user="alice")
    assert empty.status == 400 and "'markdown' is missing or empty" in empty.body
    huge = t.post("/api/postmortems/1/markdown", {"markdown": "x" * (300 * 1024)}, user="alice")
    assert huge.status == 400 and "'markdown' is longer than 256 KiB" in huge.body
    assert postmortem(t)["revision"] == 1
    assert t.get("/api/postmortems/x").status == 404
    assert t.get("/api/actions?status=finished").status == 400


def test_a_postmortem_nobody_owns_waits_for_an_owner_before_review(t, smtp_receiver):
    # SEV-2 on a service without a policy, resolved by its sender: nobody to own it
    assert t.enqueue(key=LOW, dedup="disk", summary="disk full on batch-01").status == 202
    assert t.enqueue(key=LOW, action="resolve", dedup="disk").status == 202
    pm = postmortem(t)
    assert pm["owner"] is None and pm["severity"] == "SEV-2"
    assert "owner not named yet" in t.show(1)["log"][-1]["message"]
    assert t.post("/api/postmortems/1/markdown", {"markdown": complete()},
                  user="alice").status == 200
    r = t.post("/api/postmortems/1/submit", {}, user="alice")
    assert r.status == 409 and "has no owner: name one first" in r.body, r
    assert t.cli("postmortem", "set", "1", "owner=carol", user="alice").returncode == 0
    assert t.post("/api/postmortems/1/submit", {}, user="carol").status == 200


def test_kill9_while_a_resolve_writes_its_postmortem_leaves_neither_half(make_tocsin,
                                                                          smtp_receiver):
    """The postmortem is written in the resolve's transaction: a kill -9 before the
    commit loses both, and the resolve after the restart makes exactly one."""
    t = make_tocsin(config(smtp_receiver), env={**CLOCK,
                                                 "TOCSIN_TEST_KILL_AT": "postmortem.written"})
    assert t.enqueue(key=KEY, dedup="a", summary="checkout returns HTTP 500").status == 202
    assert t.post("/api/incidents/1/ack", user="bob").status == 200
    try:
        t.post("/api/incidents/1/resolve", user="bob")
    except OSError:
        pass
    assert t.proc.wait(15) == -9, "the crash point was not reached"
    t.proc = None
    t._log.close()
    assert "crash point 'postmortem.written' reached" in t.log()
    t.env.pop("TOCSIN_TEST_KILL_AT")
    t.start()
    assert t.show(1)["status"] == "acknowledged"
    assert t.get("/api/postmortems").json()["postmortems"] == []
    assert t.post("/api/incidents/1/resolve", user="bob").status == 200
    assert [p["id"] for p in t.get("/api/postmortems").json()["postmortems"]] == [1]
    assert [e["type"] for e in t.show(1)["log"]].count("postmortem") == 1


def test_readme_postmortem_path(tocsin):
    """The README's "From a resolved incident to a published postmortem", command by
    command, through the CLI."""
    assert tocsin.cli("trigger", "-k", WEB_KEY, "-s", "HTTP 500 on /checkout",
                      "--severity", "critical").returncode == 0
    assert tocsin.cli("ack", "1").returncode == 0
    assert tocsin.cli("resolve", "1").returncode == 0
    lines = tocsin.cli("postmortem", "list").stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["ID", "INCIDENT", "STATUS", "SEVERITY", "OWNER",
                                             "UPDATED (UTC)", "TITLE"]
    assert re.split(r"\s{2,}", lines[1].strip())[:5] == ["1", "1", "draft", "SEV-2", "alice"]
    lint = tocsin.cli("postmortem", "lint", "1")
    assert lint.returncode == 1 and lint.stdout.startswith("postmortem-1.md:7: error: unfilled gap: "
                                                           "impact on users")
    sub = tocsin.cli("postmortem", "submit", "1")
    assert sub.returncode == 1 and "postmortem #1 has 5 lint errors" in sub.stderr
    md = tocsin.cli("postmortem", "show", "1", "--markdown").stdout
    assert md.startswith("# Postmortem: HTTP 500 on /checkout (incident #1)")
    edit = tocsin.cli("postmortem", "edit", "1", str(ROOT / "examples" / "postmortem.md"))
    assert edit.stdout == "postmortem #1 saved (draft)\n", edit
    assert tocsin.cli("postmortem", "set", "1", "mitigated=2026-11-22T09:52:00Z",
                      "factors=pool size default, no load test").returncode == 0
    assert tocsin.cli("postmortem", "submit", "1").stdout == "postmortem #1 submitted (in_review)\n"
    own = tocsin.cli("postmortem", "approve", "1")
    assert own.stderr == ("tocsin: forbidden: alice owns postmortem #1: a reviewer other than "
                          "the owner approves it\n")
    assert tocsin.cli("postmortem", "approve", "1", user="bob").stdout == \
        "postmortem #1 approved (in_review)\n"
    assert tocsin.cli("postmortem", "publish", "1").stdout == "postmortem #1 published (published)\n"
    table = tocsin.cli("actions").stdout.splitlines()
    assert re.split(r"\s{2,}", table[0]) == ["ID", "PM", "STATUS", "OWNER", "DUE", "ITEM"]
    assert [re.split(r"\s{2,}", x.strip())[2] for x in table[1:]] == ["open", "open", "open",
                                                                       "done"]
    shut = tocsin.cli("postmortem", "close", "1")
    assert shut.stderr.startswith("tocsin: conflict: postmortem #1 has 3 open action items "
                                  "(#1, #2, #3): mark each done, or decline it with a reason")
    assert tocsin.cli("actions", "done", "1").stdout == "action item #1 done\n"
    assert tocsin.cli("actions", "done", "2").returncode == 0
    assert tocsin.cli("actions", "decline", "3", "the", "load", "test", "moved", "to", "the",
                      "release", "pipeline").stdout == "action item #3 declined\n"
    assert tocsin.cli("postmortem", "close", "1").stdout == "postmortem #1 closed (closed)\n"
    history = tocsin.cli("postmortem", "history", "1").stdout
    assert "action item #3: open -> declined: the load test moved to the release pipeline" in history
    out = Path(tocsin.tmp) / "pm-1.html"
    assert tocsin.cli("postmortem", "render", "1", "-o", str(out)).returncode == 0
    assert out.read_text().count('<g class="mark ') == 6
