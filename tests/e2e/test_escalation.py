"""The escalation engine against the real daemon: levels walked at the right moments,
repeats, ack, ack timeout, manual escalate and reassign, empty levels, maintenance,
and crash safety (kill -9 before, during and after a step; downtime across steps).
Time is moved with the test clock, never slept through."""
import random
import time

import pytest

from conftest import Tocsin, wait_for, without_notify

K_WEB = "11111111111111111111111111111111"
K_GAP = "22222222222222222222222222222222"
K_VOID = "33333333333333333333333333333333"
K_PLAIN = "44444444444444444444444444444444"
K_SLOW = "55555555555555555555555555555555"

CONFIG = """\
server: {{listen: "127.0.0.1:{port}", time_zone: UTC}}
storage: {{sqlite: {db}}}
users:
  - {{id: alice, role: admin}}
  - {{id: bob, role: responder}}
  - {{id: carol, role: responder}}
  - {{id: dave, role: responder}}
schedules:
  - id: primary
    time_zone: UTC
    layers:
      - {{name: weekly, start: "2026-01-05T00:00", turn: 1w, users: [bob]}}
  - id: empty
    time_zone: UTC
    layers:
      - {{name: later, start: "2099-01-05T00:00", turn: 1w, users: [dave]}}
escalation_policies:
  - id: three
    repeat: 1
    levels:
      - {{targets: [user:alice], escalate_after: 5m}}
      - {{targets: [schedule:primary], escalate_after: 5m}}
      - {{targets: [user:carol], escalate_after: 5m}}
  - id: gap
    levels:
      - {{targets: [schedule:empty], escalate_after: 5m}}
      - {{targets: [user:carol, schedule:empty], escalate_after: 10m}}
  - id: void
    repeat: 1
    levels:
      - {{targets: [schedule:empty], escalate_after: 5m}}
  - id: slow
    repeat: 1
    levels:
      - {{targets: [user:alice], escalate_after: 15m}}
      - {{targets: [user:bob], escalate_after: 15m}}
      - {{targets: [user:carol], escalate_after: 15m}}
services:
  - {{id: web, escalation_policy: three, integration_keys: [{k_web}], ack_timeout: 30m}}
  - {{id: gappy, escalation_policy: gap, integration_keys: [{k_gap}]}}
  - {{id: voided, escalation_policy: void, integration_keys: [{k_void}]}}
  - {{id: plain, integration_keys: [{k_plain}]}}
  - {{id: slowpoke, escalation_policy: slow, integration_keys: [{k_slow}]}}
""".replace("{k_web}", K_WEB).replace("{k_gap}", K_GAP).replace("{k_void}", K_VOID) \
   .replace("{k_plain}", K_PLAIN).replace("{k_slow}", K_SLOW)

CLOCK = {"TOCSIN_TEST_CLOCK": "1"}
# the whole walk of policy "three": (user, level, pass)
THREE = [("alice", 1, 1), ("bob", 2, 1), ("carol", 3, 1),
         ("alice", 1, 2), ("bob", 2, 2), ("carol", 3, 2)]


@pytest.fixture
def esc(make_tocsin):
    return make_tocsin(CONFIG, env=CLOCK)


def pages(t, n=1):
    r = t.get(f"/api/incidents/{n}/pages")
    assert r.status == 200, r
    return [(p["user"], p["level"], p["pass"]) for p in r.json()["pages"]]


def escalations(t, n=1):
    return [e for e in t.show(n)["log"] if e["type"] == "escalate"]


def wait_pages(t, count, n=1):
    return wait_for(lambda: len(pages(t, n)) >= count and pages(t, n), what=f"{count} pages")


def iso_ms(iso):
    from datetime import datetime
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def to_deadline(t, n=1, by_ms=0):
    """Moves the test clock to the incident's next escalation deadline plus by_ms
    (negative: before it)."""
    due = iso_ms(t.show(n)["escalates_at"])
    now = iso_ms(t.get("/api/info").json()["now"])
    t.advance(f"{max(due - now + by_ms, 0)}ms")


def next_step_waits(t, since_iso, count, n=1):
    """The next step is due five minutes after since_iso: 1.5 s before it nothing has
    moved (still count pages), 0.5 s after it the next page is there; returns them."""
    assert abs(iso_ms(t.show(n)["escalates_at"]) - iso_ms(since_iso) - 300000) < 50
    to_deadline(t, n, by_ms=-1500)
    settle()
    assert len(pages(t, n)) == count, "a step fired before its deadline"
    t.advance("2s")
    return wait_pages(t, count + 1, n)


def settle():
    """Gives the engine (which wakes on every clock move) time to act on nothing."""
    time.sleep(1.2)


def test_three_levels_with_repeat_walk_at_the_right_moments(esc):
    t = esc
    assert t.enqueue(key=K_WEB, dedup="a").status == 202
    inc = t.show(1)
    assert inc["assigned_to"] == ["alice"] and inc["escalation_level"] == 1
    assert inc["escalation_policy"] == "three"
    assert escalations(t)[0]["message"] == "level 1, pass 1 of 2: assigned to alice"
    assert pages(t) == THREE[:1]
    # each level has 5 minutes: a second before the deadline nothing moves
    for step in range(1, 6):
        to_deadline(t, by_ms=-1500)
        settle()
        assert pages(t) == THREE[:step], f"step {step} fired early"
        t.advance("2s")
        assert wait_pages(t, step + 1) == THREE[:step + 1]
        inc = t.show(1)
        user, level, _ = THREE[step]
        assert inc["assigned_to"] == [user] and inc["escalation_level"] == level
    log = escalations(t)
    assert log[1]["message"] == ("not acknowledged within 5m: level 2, pass 1 of 2: "
                                 "assigned to bob (on call for primary)")
    assert log[3]["message"] == ("not acknowledged within 5m: level 1, pass 2 of 2: "
                                 "assigned to alice")
    assert all(e["actor"] == "system" for e in log)
    # after the last level of the last pass it stays there
    assert t.show(1)["escalates_at"] is None
    t.advance("1h")
    settle()
    assert pages(t) == THREE and len(escalations(t)) == 6
    assert t.show(1)["escalation_level"] == 3


def test_ack_between_levels_stops_escalation(esc):
    t = esc
    t.enqueue(key=K_WEB, dedup="a")
    t.advance("301s")
    wait_pages(t, 2)
    assert t.cli("ack", "1").returncode == 0
    assert t.show(1)["escalates_at"] is None
    t.advance("25m")      # within the 30m ack timeout
    settle()
    assert pages(t) == THREE[:2]
    assert [e["type"] for e in without_notify(t.show(1)["log"])] == [
        "trigger", "escalate", "escalate", "ack"]


def test_ack_timeout_triggers_again_from_level_one(esc):
    t = esc
    t.enqueue(key=K_WEB, dedup="a")
    t.advance("301s")
    wait_pages(t, 2)
    t.post("/api/incidents/1/ack", user="bob")
    t.advance("1801s")
    got = wait_pages(t, 3)
    assert got[2] == ("alice", 1, 1)
    log = without_notify(t.show(1)["log"])
    assert [e["type"] for e in log[-2:]] == ["unack", "escalate"]
    assert log[-1]["message"] == "triggered again: level 1, pass 1 of 2: assigned to alice"
    # and the walk goes on from there
    t.advance("301s")
    assert wait_pages(t, 4)[3] == ("bob", 2, 1)


def test_resolve_ends_escalation(esc):
    t = esc
    t.enqueue(key=K_WEB, dedup="a")
    t.enqueue(action="resolve", key=K_WEB, dedup="a")
    t.advance("1h")
    settle()
    assert pages(t) == THREE[:1]
    assert t.show(1)["escalates_at"] is None


def test_manual_escalate_moves_one_level_now(esc):
    t = esc
    t.enqueue(key=K_WEB, dedup="a")
    t.advance("2m")
    r = t.cli("escalate", "#1")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "#1 escalated: level 2, assigned to bob\n"
    entry = escalations(t)[-1]
    assert entry["actor"] == "alice"
    assert entry["message"] == ("escalated by alice: level 2, pass 1 of 2: "
                                "assigned to bob (on call for primary)")
    # level 2's five minutes count from the manual escalation, not from the trigger
    assert next_step_waits(t, escalations(t)[-1]["at"], 2)[2] == ("carol", 3, 1)
    # an acknowledged incident escalated by hand is triggered again for the new level
    t.cli("ack", "1")
    r = t.cli("escalate", "1", user="bob")
    assert r.returncode == 0, r.stderr
    inc = t.show(1)
    assert inc["status"] == "triggered" and inc["assigned_to"] == ["alice"]
    for _ in range(2):
        assert t.cli("escalate", "1").returncode == 0
    r = t.cli("escalate", "1")
    assert r.returncode == 1
    assert "the incident is at the last step of 'three' already (level 3, pass 2 of 2)" \
        in r.stderr
    assert len(pages(t)) == 6
    t.cli("resolve", "1")
    r = t.cli("escalate", "1")
    assert r.returncode == 1 and "resolved" in r.stderr
    r = t.post("/api/incidents/1/escalate", user="alice")
    assert r.status == 409 and "the incident is resolved" in r.body


def test_escalate_needs_a_policy_and_an_incident(esc):
    t = esc
    t.enqueue(key=K_PLAIN, dedup="p")
    assert t.show(1)["assigned_to"] == [] and t.show(1)["escalation_policy"] is None
    r = t.cli("escalate", "1")
    assert r.returncode == 1 and "service 'plain' has no escalation policy" in r.stderr
    assert t.cli("escalate", "9").returncode == 1
    assert t.cli("escalate", "x").returncode == 2


def test_reassign_hands_over_and_escalation_backs_up(esc):
    t = esc
    t.enqueue(key=K_WEB, dedup="a")
    t.advance("3m")
    r = t.cli("reassign", "1", "user:dave")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "#1 reassigned: level 1, assigned to dave\n"
    log = without_notify(t.show(1)["log"])
    assert log[-1]["type"] == "reassign" and log[-1]["actor"] == "alice"
    assert log[-1]["message"] == "reassigned by alice to dave"
    r = t.get("/api/incidents/1/pages").json()["pages"]
    assert (r[-1]["user"], r[-1]["reason"]) == ("dave", "reassign")
    # dave gets level 1's full five minutes, then escalation takes over again
    assert next_step_waits(t, log[-1]["at"], 2)[2] == ("bob", 2, 1)
    # to whoever is on call for a schedule; an acknowledged incident is the new holder's
    t.cli("ack", "1")
    r = t.cli("reassign", "1", "schedule:primary")
    assert r.returncode == 0 and r.stdout.endswith("assigned to bob\n")
    inc = t.show(1)
    assert inc["status"] == "triggered"
    assert without_notify(inc["log"])[-1]["message"] == (
        "reassigned by alice to bob (on call for primary): "
                                         "triggered again until acknowledged")


def test_reassign_errors_name_what_is_wrong(esc):
    t = esc
    t.enqueue(key=K_WEB, dedup="a")
    before = t.show(1)
    r = t.cli("reassign", "1", "schedule:empty")
    assert r.returncode == 1 and "nobody is on call for schedule 'empty' now" in r.stderr
    r = t.cli("reassign", "1", "user:zed")
    assert r.returncode == 1 and "no user 'zed' in the configuration" in r.stderr
    r = t.cli("reassign", "1", "bob")
    assert r.returncode == 2 and "'bob' is not user:ID or schedule:ID" in r.stderr
    r = t.post("/api/incidents/1/reassign", {"to": "team:web"}, user="alice")
    assert r.status == 400 and "bad target 'team:web'" in r.body
    r = t.post("/api/incidents/1/reassign", {"to": ""}, user="alice")
    assert r.status == 400 and "'to' is missing or blank" in r.body
    after = t.show(1)
    assert after["log"] == before["log"] and after["assigned_to"] == ["alice"]
    assert pages(t) == THREE[:1]


def test_a_level_with_nobody_on_call_moves_straight_on(esc):
    t = esc
    t.enqueue(key=K_GAP, dedup="g")
    log = escalations(t)
    assert [e["message"] for e in log] == [
        "level 1: nobody is on call for empty: moving on",
        "level 2: assigned to carol (nobody on call for empty)"]
    inc = t.show(1)
    assert inc["escalation_level"] == 2 and inc["assigned_to"] == ["carol"]
    assert pages(t) == [("carol", 2, 1)]
    assert inc["escalates_at"] is None     # the last level, no repeat


def test_nobody_on_call_anywhere_leaves_it_unassigned_and_retries(esc):
    t = esc
    t.enqueue(key=K_VOID, dedup="v")
    inc = t.show(1)
    assert inc["assigned_to"] == [] and inc["escalates_at"] is not None
    msgs = [e["message"] for e in escalations(t)]
    assert msgs[-1] == "nobody is on call at any level of void: the incident is unassigned"
    t.advance("301s")
    wait_for(lambda: len(escalations(t)) == 4, what="second pass")
    assert escalations(t)[2]["message"].startswith(
        "not acknowledged within 5m: level 1, pass 2 of 2: nobody is on call for empty")
    assert pages(t) == [] and t.show(1)["escalates_at"] is None


def test_maintenance_pages_nobody_until_escalated_by_hand(esc):
    t = esc
    assert t.cli("maintenance", "web", "--for", "2h").returncode == 0
    t.enqueue(key=K_WEB, dedup="m")
    assert pages(t) == [] and t.show(1)["escalates_at"] is None
    t.advance("10m")
    settle()
    assert pages(t) == []
    assert t.cli("escalate", "1").returncode == 0
    assert pages(t) == [("alice", 1, 1)]


def test_restart_mid_escalation_keeps_the_deadline(esc):
    t = esc
    t.enqueue(key=K_WEB, dedup="a")
    off = t.advance("3m")["offset_ms"]
    t.stop()
    t.env["TOCSIN_TEST_CLOCK_OFFSET"] = f"{off}ms"
    t.start()
    assert next_step_waits(t, t.show(1)["created_at"], 1) == THREE[:2]


def restart_at(t, offset_ms, **env):
    t.env.pop("TOCSIN_TEST_KILL_AT", None)
    t.env.update(env)
    t.env["TOCSIN_TEST_CLOCK_OFFSET"] = f"{offset_ms}ms"
    t.start()


@pytest.mark.parametrize("point", ["escalate.before", "escalate.written",
                                   "escalate.committed"])
def test_kill9_around_a_step_neither_skips_nor_doubles_it(make_tocsin, point):
    t = make_tocsin(CONFIG, env={**CLOCK, "TOCSIN_TEST_KILL_AT": point})
    t.enqueue(key=K_WEB, dedup="a")
    try:    # the step may kill the daemon before it answers this very request
        t.advance("301s")
    except OSError:
        pass
    off = 301_000
    assert t.proc.wait(15) == -9, "the crash point was not reached"
    t.proc = None
    t._log.close()
    assert f"crash point '{point}' reached" in t.log()
    restart_at(t, off)
    assert wait_pages(t, 2) == THREE[:2]
    settle()
    assert pages(t) == THREE[:2]
    assert len(escalations(t)) == 2
    # the step after it comes at its own time, once
    to_deadline(t, by_ms=-1500)
    settle()
    assert len(pages(t)) == 2
    t.advance("2s")
    assert wait_pages(t, 3) == THREE[:3]


def test_kill9_at_random_moments_keeps_every_walk_whole(make_tocsin):
    rnd = random.Random(1234)
    t = make_tocsin(CONFIG, env=CLOCK)
    for i in range(12):
        assert t.enqueue(key=K_WEB, dedup=f"r{i}").status == 202
    off = 0
    for minute in range(32):
        off = t.advance("1m")["offset_ms"]
        if minute in (4, 13, 22):
            time.sleep(rnd.uniform(0, 0.05))
            t.kill9()
            restart_at(t, off)
    # every incident walked all six steps, each exactly once, in order
    for n in range(1, 13):
        assert wait_pages(t, 6, n) == THREE, f"incident {n}"
    settle()
    for n in range(1, 13):
        assert pages(t, n) == THREE
        assert len(escalations(t, n)) == 6


def test_downtime_across_two_steps_fires_each_once_after_restart(esc):
    t = esc
    t.enqueue(key=K_SLOW, dedup="s")     # 15m levels: due at +15m and +30m
    t.advance("1m")
    t.stop()
    restart_at(t, 31 * 60 * 1000)        # down from +1m to +31m
    got = wait_pages(t, 3)
    assert got == [("alice", 1, 1), ("bob", 2, 1), ("carol", 3, 1)]
    log = escalations(t)
    assert [e["message"] for e in log[1:]] == [
        "not acknowledged within 15m: level 2, pass 1 of 2: assigned to bob",
        "not acknowledged within 15m: level 3, pass 1 of 2: assigned to carol"]
    # the next step keeps its own deadline (+45m), no burst of repeats before it
    inc = t.show(1)
    assert iso_ms(inc["escalates_at"]) - iso_ms(inc["created_at"]) == 45 * 60000
    t.advance("10m")
    settle()
    assert len(pages(t)) == 3 and len(escalations(t)) == 3
    to_deadline(t, by_ms=500)
    assert wait_pages(t, 4)[3] == ("alice", 1, 2)


def test_reload_that_drops_the_policy_stops_escalation(esc):
    t = esc
    t.enqueue(key=K_WEB, dedup="a")
    new = CONFIG.replace("escalation_policy: three, ", "").replace(
        "  - id: three\n    repeat: 1\n    levels:\n"
        "      - {{targets: [user:alice], escalate_after: 5m}}\n"
        "      - {{targets: [schedule:primary], escalate_after: 5m}}\n"
        "      - {{targets: [user:carol], escalate_after: 5m}}\n", "")
    assert "three" not in new
    t.write_config(new)
    t.proc.send_signal(1)
    wait_for(lambda: "reloaded" in t.log(), what="reload")
    t.advance("301s")
    wait_for(lambda: len(escalations(t)) == 2, what="stop entry")
    assert escalations(t)[-1]["message"] == (
        "escalation policy 'three' is no longer in the configuration: escalation stops")
    assert pages(t) == THREE[:1]


def test_metrics_count_fired_timers_by_lateness(esc):
    t = esc
    t.enqueue(key=K_WEB, dedup="a")
    t.advance("301s")
    wait_pages(t, 2)
    body = t.get("/metrics", user=None).body
    assert "tocsin_timer_lateness_seconds_count 1" in body
    assert 'tocsin_timer_lateness_seconds_bucket{le="+Inf"} 1' in body


def test_wall_clock_step_neither_mass_fires_nor_stalls(esc):
    t = esc
    t.enqueue(key=K_WEB, dedup="a")
    due = iso_ms(t.show(1)["escalates_at"])
    # the wall clock jumps an hour ahead: the 5-minute step must not fire at once
    assert t.post("/api/test/clock", {"step": "1h"}, user="alice").status == 200
    wait_for(lambda: "wall clock was stepped by +3600 s" in t.log(), what="step noticed")
    # measured from two clocks, the step is exact to a few milliseconds
    wait_for(lambda: abs(iso_ms(t.show(1)["escalates_at"]) - due - 3600 * 1000) < 20,
             what="the stored deadline moved")
    settle()
    assert pages(t) == THREE[:1]
    to_deadline(t, by_ms=-1500)
    settle()
    assert pages(t) == THREE[:1]
    t.advance("2s")
    assert wait_pages(t, 2) == THREE[:2]
    # and back two hours: the next step is still five minutes away, not two hours
    assert t.post("/api/test/clock", {"step": "-2h"}, user="alice").status == 200
    wait_for(lambda: "stepped by -7200 s" in t.log(), what="step back noticed")

    def left():
        now = iso_ms(t.get("/api/info").json()["now"])
        return iso_ms(t.show(1)["escalates_at"]) - now
    wait_for(lambda: left() < 3600 * 1000, what="the stored deadline moved back")
    assert 290 * 1000 < left() <= 300 * 1000, left()
    to_deadline(t, by_ms=500)
    assert wait_pages(t, 3) == THREE[:3]
    settle()
    assert len(escalations(t)) == 3


def test_test_clock_refuses_a_bad_request(esc):
    r = esc.post("/api/test/clock", {"step": "sideways"}, user="alice")
    assert r.status == 400 and "'step'" in r.body
    r = esc.post("/api/test/clock", {"advance": "-5m"}, user="alice")
    assert r.status == 400
