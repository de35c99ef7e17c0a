"""MTTA and MTTR over a fixture of incidents with known times (moved with the test
clock), compared with hand-computed means and percentiles."""
import json
from datetime import datetime

from conftest import DB_KEY, WEB_KEY

CLOCK = {"TOCSIN_TEST_CLOCK": "1"}


def ms(iso):
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def percentile(values, p):
    """Linear interpolation between the closest ranks (numpy's default)."""
    v = sorted(values)
    rank = p / 100 * (len(v) - 1)
    lo = int(rank)
    if lo + 1 >= len(v):
        return v[-1]
    return v[lo] + (rank - lo) * (v[lo + 1] - v[lo])


def expected(incidents):
    acked = [(ms(i["acknowledged_at"]) - ms(i["created_at"])) / 1000
             for i in incidents if i["acknowledged_at"]]
    done = [(ms(i["resolved_at"]) - ms(i["created_at"])) / 1000
            for i in incidents if i["resolved_at"]]
    out = {"incidents": len(incidents), "acknowledged": len(acked), "resolved": len(done)}
    for name, v in (("mtta", acked), ("mttr", done)):
        out[f"{name}_s"] = sum(v) / len(v)
        out[f"{name}_p50_s"] = percentile(v, 50)
        out[f"{name}_p90_s"] = percentile(v, 90)
    return out


def play(t):
    """Four incidents: acked after 60 s, 120 s and 600 s (one never), resolved after
    300 s, 180 s and 30 s (one never)."""
    t.enqueue(dedup="one")
    t.advance("60s")
    t.post("/api/incidents/1/ack", user="alice")
    t.advance("240s")
    t.post("/api/incidents/1/resolve", user="alice")
    t.enqueue(dedup="two", severity="warning")
    t.advance("120s")
    t.post("/api/incidents/2/ack", user="bob")
    t.advance("60s")
    t.post("/api/incidents/2/resolve", user="bob")
    t.enqueue(key=DB_KEY, dedup="three")
    t.advance("600s")
    t.post("/api/incidents/3/ack", user="alice")
    t.enqueue(dedup="four")
    t.advance("30s")
    t.enqueue(action="resolve", dedup="four")


def close(got, want):
    for k, v in want.items():
        assert abs(got[k] - v) < 1e-6, (k, got[k], v)


def test_mtta_and_mttr_match_the_hand_computed_figures(make_tocsin):
    t = make_tocsin(env=CLOCK)
    play(t)
    incidents = t.incidents()
    got = t.get("/api/stats").json()
    close(got, expected(incidents))
    # the nominal figures, to the second: 60/120/600 and 300/180/30
    assert round(got["mtta_s"]) == 260 and round(got["mtta_p50_s"]) == 120
    assert round(got["mtta_p90_s"]) == 504
    assert round(got["mttr_s"]) == 170 and round(got["mttr_p50_s"]) == 180
    assert round(got["mttr_p90_s"]) == 276
    assert got["by_severity"] == {"SEV-2": 3, "SEV-4": 1}
    assert got["by_status"] == {"resolved": 3, "acknowledged": 1}
    # the website's policy pages alice at level 1 (incidents 1, 2 and 4)
    assert got["pages"] == {"alice": 3}
    night = sum(1 for n in (1, 2, 4) for p in t.get(f"/api/incidents/{n}/pages").json()["pages"]
                if int(p["created_at"][11:13]) >= 22 or int(p["created_at"][11:13]) < 7)
    assert got["pages_at_night"].get("alice", 0) == night


def test_filters_by_service_team_responder_and_period(make_tocsin):
    t = make_tocsin(env=CLOCK)
    play(t)
    incidents = t.incidents()
    web = [i for i in incidents if i["service"] == "website"]
    close(t.get("/api/stats?service=website").json(), expected(web))
    close(t.get("/api/stats?team=web").json(), expected(web))     # the web team owns website
    by_alice = [i for i in incidents if i["number"] in (1, 3)]
    got = t.get("/api/stats?responder=alice").json()
    assert got["incidents"] == 2 and round(got["mtta_s"]) == 330
    close(got, {k: v for k, v in expected(by_alice).items() if not k.startswith("mttr")})
    # the period: the last 11 minutes hold only incidents 3 and 4
    got = t.get("/api/stats?since=11m").json()
    assert got["incidents"] == 2
    assert t.get("/api/stats?since=soon").status == 400
    assert t.get("/api/stats?team=nope").status == 404
    empty = t.get("/api/stats?service=grouped").json()
    assert empty["incidents"] == 0 and empty["mtta_s"] is None


def test_stats_cli(make_tocsin):
    t = make_tocsin(env=CLOCK)
    play(t)
    r = t.cli("stats")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["incidents", "4,", "3", "acknowledged,", "3", "resolved"]
    assert lines[1].startswith("MTTA") and "mean 4m20s" in lines[1] and "p50 2m" in lines[1]
    assert lines[2].startswith("MTTR") and "mean 2m50s" in lines[2] and "p90 4m36s" in lines[2]
    assert "SEV-2 3" in r.stdout and "alice 3" in r.stdout
    js = json.loads(t.cli("stats", "--service", "database", "--json").stdout)
    assert js["incidents"] == 1 and js["mttr_s"] is None
    assert t.cli("stats", "--since", "later").returncode == 2
