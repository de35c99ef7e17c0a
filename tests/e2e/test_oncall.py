"""Who is on call, shifts and overrides, through the CLI and the API (docs/SCHEDULES.md)."""
import json

ONCALL_CONFIG = """\
server: {{listen: "127.0.0.1:{port}", time_zone: UTC}}
storage: {{sqlite: {db}}}
users:
  - {{id: alice, role: admin}}
  - {{id: bob, role: responder}}
  - {{id: carol, role: responder}}
  - {{id: olive, role: observer}}
schedules:
  - id: primary
    time_zone: UTC
    layers:
      - {{name: weekly, start: "2026-11-02T09:00", turn: 1w, users: [alice, bob]}}
  - id: office
    time_zone: Europe/Paris
    layers:
      - {{name: days, start: "2026-11-02T09:00", turn: 1d, users: [carol],
         restrict: {{weekly: ["mon 09:00-fri 17:00"]}}}}
escalation_policies:
  - id: web
    levels:
      - {{targets: ["schedule:primary"], escalate_after: 15m}}
      - {{targets: ["user:carol", "schedule:office"], escalate_after: 30m}}
"""


def oncall(t, *args):
    r = t.cli("oncall", *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_oncall_at_a_time_gives_the_user_and_the_shift_bounds(make_tocsin):
    t = make_tocsin(config=ONCALL_CONFIG)
    assert oncall(t, "--schedule", "primary", "--at", "2026-11-03T00:00:00Z") == [
        {"schedule": "primary", "user": "alice", "start": "2026-11-02T09:00:00Z",
         "end": "2026-11-09T09:00:00Z"}]
    [o] = oncall(t, "--schedule", "primary", "--at", "2026-11-10T10:00:00+01:00")
    assert o["user"] == "bob"
    # before the layer starts nobody is on call
    [o] = oncall(t, "--schedule", "primary", "--at", "2026-11-01T00:00:00Z")
    assert o["user"] is None


def test_shifts_show_gaps_and_restrictions(make_tocsin):
    t = make_tocsin(config=ONCALL_CONFIG)
    r = t.cli("shifts", "office", "--from", "2026-11-06T00:00:00Z", "--to",
              "2026-11-10T00:00:00Z", "--json")
    assert r.returncode == 0, r.stderr
    shifts = json.loads(r.stdout)
    # Paris is UTC+1 in November: Friday 17:00 local is 16:00Z, Monday 09:00 is 08:00Z
    assert [(s["user"], s["start"], s["end"]) for s in shifts] == [
        ("carol", "2026-11-06T00:00:00Z", "2026-11-06T16:00:00Z"),
        (None, "2026-11-06T16:00:00Z", "2026-11-09T08:00:00Z"),
        ("carol", "2026-11-09T08:00:00Z", "2026-11-10T00:00:00Z")]
    r = t.cli("shifts", "office", "--from", "2026-11-06T00:00:00Z", "--to",
              "2026-11-10T00:00:00Z")
    assert "FROM (UTC)" in r.stdout and "carol" in r.stdout


def test_override_replaces_whoever_is_on_call_and_can_be_removed(make_tocsin):
    t = make_tocsin(config=ONCALL_CONFIG)
    r = t.cli("override", "primary", "carol", "--from", "2036-12-01T00:00:00Z",
              "--to", "2036-12-02T00:00:00Z", user="bob")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("override #1: carol on call for primary")
    [o] = oncall(t, "--schedule", "primary", "--at", "2036-12-01T12:00:00Z")
    assert (o["user"], o["start"], o["end"]) == ("carol", "2036-12-01T00:00:00Z",
                                                  "2036-12-02T00:00:00Z")
    listed = t.get("/api/schedules/primary/overrides").json()["overrides"]
    assert [(x["id"], x["user"], x["created_by"]) for x in listed] == [(1, "carol", "bob")]
    assert t.cli("override", "remove", "primary", "1").stdout == "override #1 removed\n"
    [o] = oncall(t, "--schedule", "primary", "--at", "2036-12-01T12:00:00Z")
    assert o["user"] == "alice"
    assert t.cli("override", "remove", "primary", "1").returncode == 1


def test_override_errors(make_tocsin):
    t = make_tocsin(config=ONCALL_CONFIG)
    r = t.post("/api/schedules/primary/overrides", {"user": "mallory", "start":
               "2026-11-03T00:00:00Z", "end": "2026-11-04T00:00:00Z"}, user="bob")
    assert r.status == 400 and "user" in r.json()["errors"][0]
    r = t.post("/api/schedules/primary/overrides", {"user": "bob", "start":
               "2026-11-04T00:00:00Z", "end": "2026-11-03T00:00:00Z"}, user="bob")
    assert r.status == 400 and r.json()["errors"] == ["'end' must be after 'start'"]
    r = t.post("/api/schedules/nope/overrides", {"user": "bob"}, user="bob")
    assert r.status == 404
    r = t.post("/api/schedules/primary/overrides", {"user": "bob", "start":
               "2026-11-03T00:00:00Z", "end": "2026-11-04T00:00:00Z"}, user="olive")
    assert r.status == 403
    assert t.cli("override", "primary", "bob", "--from", "tomorrow", "--to",
                 "2026-11-04T00:00:00Z").returncode == 2


def test_oncall_per_policy_level(make_tocsin):
    t = make_tocsin(config=ONCALL_CONFIG)
    got = oncall(t, "--policy", "web", "--at", "2026-11-03T10:00:00Z")
    assert [(o["level"], o["schedule"], o["user"]) for o in got] == [
        (1, "primary", "alice"), (2, None, "carol"), (2, "office", "carol")]
    r = t.cli("oncall", "--policy", "nope")
    assert r.returncode == 1 and "no escalation policy 'nope'" in r.stderr


def test_shifts_window_limits(make_tocsin):
    t = make_tocsin(config=ONCALL_CONFIG)
    r = t.get("/api/schedules/primary/shifts?from=2026-01-01T00:00:00Z&to=2028-01-01T00:00:00Z")
    assert r.status == 400
    r = t.get("/api/schedules/primary/shifts?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z")
    assert r.status == 400
    assert t.get("/api/schedules/nope/shifts").status == 404


def ics_events(text):
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    unfolded = text.replace("\r\n ", "")
    events, cur = [], None
    for line in unfolded.split("\r\n"):
        if line == "BEGIN:VEVENT":
            cur = {}
        elif line == "END:VEVENT":
            events.append(cur)
            cur = None
        elif cur is not None and ":" in line:
            k, v = line.split(":", 1)
            cur[k] = v
    return events


def test_calendar_feeds_match_the_shifts_and_need_a_token(make_tocsin):
    import datetime
    import time
    t = make_tocsin(config=ONCALL_CONFIG)
    tok = t.token("olive")
    r = t.get(f"/calendar/primary.ics?token={tok}", user=None)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/calendar")
    events = ics_events(r.body)
    assert len(events) >= 50                      # a year of weekly shifts
    # each event is a shift of /shifts, in UTC
    ev = events[5]
    start = datetime.datetime.strptime(ev["DTSTART"], "%Y%m%dT%H%M%SZ")
    end = datetime.datetime.strptime(ev["DTEND"], "%Y%m%dT%H%M%SZ")
    iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
    shifts = t.get(f"/api/schedules/primary/shifts?from={iso(start)}&to={iso(end)}").json()
    [sh] = shifts["shifts"]
    assert ev["SUMMARY"] == f"On call: primary ({sh['user']})"
    # UIDs are the same on the next refresh
    time.sleep(1.1)
    again = ics_events(t.get(f"/calendar/primary.ics?token={tok}", user=None).body)
    assert [e["UID"] for e in again[1:]] == [e["UID"] for e in events[1:]]
    # a user's own feed holds only their shifts, from every schedule
    mine = ics_events(t.get(f"/calendar/users/carol.ics?token={tok}", user=None).body)
    assert mine and all("(carol)" in e["SUMMARY"] for e in mine)
    assert {e["SUMMARY"].split(" (")[0] for e in mine} == {"On call: office"}
    assert t.get("/calendar/primary.ics", user=None).status == 401
    assert t.get("/calendar/primary.ics?token=bogus", user=None).status == 401
    assert t.get(f"/calendar/nope.ics?token={tok}", user=None).status == 404
