"""Upgrading a store written by an older tocsin: migrations apply to real fixture data
(tests/e2e/fixtures/, made with that release's binary), nothing is lost, timers keep
their ids and deadlines, and incidents opened before escalation existed follow their
service's policy when they are triggered again."""
import sqlite3
import time
from pathlib import Path

from conftest import wait_for, without_notify

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "0123456789abcdef0123456789abcdef"

CONFIG = """\
server: {{listen: "127.0.0.1:{port}", time_zone: UTC}}
storage: {{sqlite: {db}}}
users:
  - {{id: alice, role: admin}}
  - {{id: bob, role: responder}}
schedules:
  - id: primary
    time_zone: UTC
    layers:
      - {{name: weekly, start: "2026-01-05T00:00", turn: 1w, users: [bob]}}
escalation_policies:
  - id: web-default
    levels:
      - {{targets: [user:alice], escalate_after: 15m}}
services:
  - {{id: website, escalation_policy: web-default, integration_keys: [{web_key}],
     ack_timeout: 30m, auto_resolve: 4h}}
"""


def load_v2(db: Path):
    """The v2 fixture, with its deadlines moved to now + 10 minutes (the ack timeout)
    and now + 4 hours (auto-resolve), as if it had been written a moment ago."""
    db.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db)
    con.executescript((FIXTURES / "store-v2.sql").read_text())
    now = int(time.time() * 1000)
    con.execute("UPDATE timers SET due = ? WHERE kind = 'ack_timeout'", (now + 600_000,))
    con.execute("UPDATE timers SET due = ? WHERE kind = 'auto_resolve'", (now + 4 * 3600_000,))
    con.commit()
    assert con.execute("PRAGMA user_version").fetchone()[0] == 2
    con.close()


def query(db, sql):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_v2_store_upgrades_with_everything_in_it(make_tocsin):
    t = make_tocsin(CONFIG, env={"TOCSIN_TEST_CLOCK": "1"}, start=False)
    load_v2(t.db)
    t.start()
    newest = query(t.db, "PRAGMA user_version")[0][0]
    assert newest >= 4
    for v in range(3, newest + 1):      # every migration since the fixture's, once
        assert t.log().count(f"migrated schema to version {v}\n") == 1, v
    assert "migrated schema to version 2" not in t.log()
    assert [(i["number"], i["status"], i["title"]) for i in t.incidents()] == [
        (2, "triggered", "open before the upgrade"),
        (1, "acknowledged", "acked before the upgrade")]
    assert t.show(1)["escalation_policy"] is None
    assert [o["user"] for o in t.get("/api/schedules/primary/overrides").json()["overrides"]] \
        == ["alice"]
    assert query(t.db, "SELECT id, incident, kind FROM timers ORDER BY id") == [
        (1, 1, "auto_resolve"), (2, 2, "auto_resolve"), (3, 1, "ack_timeout")]
    # the old ack timeout still fires at its time, and escalation takes over from there
    t.advance("9m")
    time.sleep(1.2)
    assert t.show(1)["status"] == "acknowledged"
    t.advance("62s")
    wait_for(lambda: t.show(1)["assigned_to"] == ["alice"], what="re-triggered and assigned")
    inc = t.show(1)
    assert inc["status"] == "triggered" and inc["escalation_policy"] == "web-default"
    assert [e["type"] for e in without_notify(inc["log"])][-2:] == ["unack", "escalate"]
    # new incidents escalate, and timer ids go on past the old ones
    assert t.enqueue(key=KEY, dedup="c").status == 202
    assert t.show(3)["assigned_to"] == ["alice"]
    assert min(r[0] for r in query(t.db, "SELECT id FROM timers WHERE incident = 3")) > 3
    # a second start migrates nothing
    t.restart()
    assert t.log().count("migrated schema to version") == newest - 2
    assert len(t.incidents()) == 3
