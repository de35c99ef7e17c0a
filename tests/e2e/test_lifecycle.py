"""Timers (ack_timeout, auto_resolve), restarts, reloads and start-up checks."""
import signal
import time

from conftest import BASE_CONFIG, TIMED_KEY, WEB_KEY, wait_for

CLOCK = {"TOCSIN_TEST_CLOCK": "1"}


def test_ack_timeout_triggers_the_incident_again(make_tocsin):
    t = make_tocsin(env=CLOCK)
    t.enqueue(dedup="k", key=TIMED_KEY)
    t.post("/api/incidents/1/ack", user="bob")
    t.advance("29m")
    time.sleep(1.5)
    assert t.incidents()[0]["status"] == "acknowledged"
    t.advance("2m")
    wait_for(lambda: t.incidents()[0]["status"] == "triggered", what="ack timeout")
    log = t.show(1)["log"]
    assert log[-1]["type"] == "unack" and log[-1]["actor"] == "system"
    assert log[-1]["message"] == "acknowledgement timed out after 30m: triggered again"
    # the first acknowledgement time is kept for MTTA
    assert t.incidents()[0]["acknowledged_at"] is not None


def test_resolve_cancels_the_ack_timeout(make_tocsin):
    t = make_tocsin(env=CLOCK)
    t.enqueue(dedup="k", key=TIMED_KEY)
    t.post("/api/incidents/1/ack", user="bob")
    t.post("/api/incidents/1/resolve", user="bob")
    t.advance("5h")
    time.sleep(1.5)
    assert [e["type"] for e in t.show(1)["log"]] == ["trigger", "ack", "resolve",
                                                    "postmortem"]


def test_auto_resolve_after_the_service_timeout(make_tocsin):
    t = make_tocsin(env=CLOCK)
    t.enqueue(dedup="k", key=TIMED_KEY)
    t.advance("239m")
    time.sleep(1.5)
    assert t.incidents()[0]["status"] == "triggered"
    t.advance("2m")
    wait_for(lambda: t.incidents()[0]["status"] == "resolved", what="auto-resolve")
    log = t.show(1)["log"]
    assert log[-2]["actor"] == "system"
    assert log[-2]["message"] == "auto-resolved: open for 4h"
    # SEV-2 and nobody to own it: the postmortem waits for one
    assert log[-1]["type"] == "postmortem" and "owner not named yet" in log[-1]["message"]


def test_restart_keeps_incidents_and_timer_deadlines(make_tocsin):
    t = make_tocsin(env=CLOCK)
    t.enqueue(dedup="k", key=TIMED_KEY)
    t.enqueue(dedup="w")
    t.post("/api/incidents/1/ack", user="bob")
    t.advance("20m")
    t.stop()
    # the daemon comes back 20 minutes later in test time: 10 of the 30 remain
    t.env["TOCSIN_TEST_CLOCK_OFFSET"] = "20m"
    t.start()
    assert [(i["number"], i["status"]) for i in t.incidents()] == [(2, "triggered"),
                                                                  (1, "acknowledged")]
    t.advance("9m")
    time.sleep(1.5)
    assert t.incidents(status="acknowledged")[0]["number"] == 1
    t.advance("2m")
    wait_for(lambda: t.show(1)["status"] == "triggered", what="ack timeout after restart")


def test_overdue_timer_fires_once_after_downtime(make_tocsin):
    t = make_tocsin(env=CLOCK)
    t.enqueue(dedup="k", key=TIMED_KEY)
    t.stop()
    t.env["TOCSIN_TEST_CLOCK_OFFSET"] = "5h"   # down across the 4h auto-resolve
    t.start()
    wait_for(lambda: t.show(1)["status"] == "resolved", what="overdue auto-resolve")
    t.restart()
    time.sleep(1.5)
    assert [e["type"] for e in t.show(1)["log"]].count("resolve") == 1


def test_config_check_reports_every_error_with_position(make_tocsin):
    t = make_tocsin(start=False)
    t.config_path.write_text(
        "server: {lisen: x}\n"
        "services:\n"
        "  - {id: a, escalation_policy: nope, ack_timeout: 5 minutes}\n")
    r = t.run("config", "check", "-c", str(t.config_path))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert any(f"{t.config_path}:1:10: unknown key 'lisen'" in line for line in lines), lines
    assert any("'nope'" in line and ":3:" in line for line in lines), lines
    assert any("bad duration '5 minutes'" in line and ":3:" in line for line in lines), lines
    good = make_tocsin(start=False)
    r = good.run("config", "check", "-c", str(good.config_path))
    assert r.returncode == 0, r.stderr


def test_serve_refuses_a_bad_config(make_tocsin):
    t = make_tocsin(start=False)
    t.config_path.write_text("services: [{id: a, integration_keys: 5}]\n")
    t.start(wait=False)
    assert t.proc.wait(20) == 1
    assert "not starting" in t.log()
    t.proc = None
    t._log.close()


def test_sighup_reloads_a_good_file_and_refuses_a_bad_one(make_tocsin):
    t = make_tocsin()
    new_key = "dddddddddddddddddddddddddddddddd"
    assert t.enqueue(key=new_key).status == 400
    extra = BASE_CONFIG + f"  - {{{{id: payments, integration_keys: [{new_key}]}}}}\n"
    t.write_config(extra)
    t.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: t.enqueue(key=new_key, dedup="p").status == 202, what="reload")
    assert t.incidents()[0]["service"] == "payments"
    # a broken file is refused; the old config stays in force
    t.config_path.write_text("services: [{id: payments, bogus: 1}]\n")
    t.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload of" in t.log() and "refused" in t.log(), what="refusal logged")
    assert "unknown key 'bogus'" in t.log()
    assert t.enqueue(key=new_key, dedup="q").status == 202
    assert t.enqueue(key=WEB_KEY, dedup="r").status == 202


def test_sigterm_stops_cleanly(tocsin):
    tocsin.enqueue()
    assert tocsin.stop() == 0
