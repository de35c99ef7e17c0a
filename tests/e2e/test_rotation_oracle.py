"""Who is on call, checked against an independent oracle.

The oracle below is a small pure-Python reading of docs/SCHEDULES.md (written from the
text, not from src/): layers with turns in hours, days, weeks or months computed on the
naive local wall clock, local times converted with `fold=0` (a time in the spring-forward
gap moves forward by the gap, a repeated time is the first one), daily and weekly
restrictions, the last layer with someone winning, overrides with the last-created one
winning, and shifts as maximal intervals.

The oracle is unit-checked first against hand-computed cases; then the real daemon's
`GET /api/oncall` is compared with it at every hour over two years, every 15 minutes
around each DST change, and at every handoff and override bound +- 1 minute, for
schedules in New York, Paris, Sydney (southern DST) and Kolkata (half-hour offset); and
`GET /api/schedules/{id}/shifts` is compared over 30-day windows around DST changes.
"""
import bisect
import http.client
import json
import re
import time
from datetime import date, datetime, time as dtime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

# =========================================================================================
# The oracle
# =========================================================================================
_TURN = re.compile(r"^([1-9][0-9]*)(h|d|w|mo)$")
_UNIT = {"h": HOUR, "d": DAY, "w": timedelta(weeks=1)}
_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]  # datetime.weekday() order


def parse_turn(turn):
    """'12h' -> (12, 'h'); '1mo' -> (1, 'mo')."""
    m = _TURN.match(turn)
    if not m:
        raise ValueError(f"bad turn {turn!r}")
    return int(m.group(1)), m.group(2)


def local_to_utc(naive, tz):
    """A naive local date-time in tz as a UTC instant: a non-existent time (the gap)
    moves forward by the gap, a repeated time is the first (earlier) one. zoneinfo's
    fold=0 gives exactly that (PEP 495): in the gap it uses the offset from before the
    transition, in the repeat the first offset. The self-tests pin this down."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def add_months(naive, months):
    """Calendar months on a naive date-time; a day past the end of the target month
    becomes that month's last day; the time of day is kept."""
    y, m0 = divmod(naive.year * 12 + (naive.month - 1) + months, 12)
    m = m0 + 1
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    last = (nxt - DAY).day
    return naive.replace(year=y, month=m, day=min(naive.day, last))


def _start(layer):
    return datetime.fromisoformat(layer["start"])  # naive local wall clock


def handoff_local(layer, k):
    """Handoff k as a naive local wall-clock date-time: start + k * turn."""
    n, unit = parse_turn(layer["turn"])
    start = _start(layer)
    if unit == "mo":
        return add_months(start, k * n)
    return start + k * n * _UNIT[unit]


def handoff(layer, k, tz):
    """Handoff k of a layer as a UTC instant (tz: the schedule's ZoneInfo)."""
    return local_to_utc(handoff_local(layer, k), tz)


def layer_turn_at(layer, tz, t):
    """k with handoff_k <= t < handoff_(k+1), or None before handoff_0."""
    if t < handoff(layer, 0, tz):
        return None
    n, unit = parse_turn(layer["turn"])
    start = _start(layer)
    loc = t.astimezone(tz).replace(tzinfo=None)
    if unit == "mo":  # a guess, corrected below
        k = ((loc.year - start.year) * 12 + loc.month - start.month) // n
    else:
        k = (loc - start) // (n * _UNIT[unit])
    k = max(k, 0)
    while handoff(layer, k + 1, tz) <= t:
        k += 1
    while k > 0 and handoff(layer, k, tz) > t:
        k -= 1
    return k


def _tod(s):
    """'HH:MM' -> seconds after local midnight ('24:00' allowed as an end)."""
    h, m = s.strip().split(":")
    h, m = int(h), int(m)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise ValueError(f"bad time of day {s!r}")
    return h * 3600 + m * 60


def _weekpoint(s):
    """'mon 09:00' -> seconds after Monday 00:00 local."""
    d, hm = s.split()
    return _WEEKDAYS.index(d.lower()[:3]) * 86400 + _tod(hm)


def _in_window(x, s, e):
    if s < e:
        return s <= x < e
    if e < s:  # wraps over midnight / over the week's end
        return x >= s or x < e
    raise ValueError("a window with start == end is not defined by docs/SCHEDULES.md")


def restrictions(layer):
    """(daily windows, weekly windows) as (start, end) second pairs."""
    r = layer.get("restrict") or {}
    daily = r.get("daily") or []
    weekly = r.get("weekly") or []
    if isinstance(daily, str):
        daily = [daily]
    if isinstance(weekly, str):
        weekly = [weekly]
    d = [tuple(_tod(x) for x in w.split("-")) for w in daily]
    w = [tuple(_weekpoint(x) for x in win.split("-")) for win in weekly]
    return d, w


def restrict_ok(layer, tz, t):
    """True when t's local time falls in one of the layer's windows (or it has none)."""
    daily, weekly = restrictions(layer)
    if not daily and not weekly:
        return True
    loc = t.astimezone(tz)
    tod = loc.hour * 3600 + loc.minute * 60 + loc.second + loc.microsecond / 1e6
    if any(_in_window(tod, s, e) for s, e in daily):
        return True
    wk = loc.weekday() * 86400 + tod
    return any(_in_window(wk, s, e) for s, e in weekly)


def layer_user_at(layer, tz, t):
    k = layer_turn_at(layer, tz, t)
    if k is None or not restrict_ok(layer, tz, t):
        return None
    users = layer["users"]
    return users[k % len(users)]


def schedule_user_at(schedule, overrides, t):
    """overrides: [{'user', 'start', 'end'}] (UTC datetimes) in creation order."""
    for o in reversed(overrides):
        if o["start"] <= t < o["end"]:
            return o["user"]
    tz = ZoneInfo(schedule["time_zone"])
    for layer in reversed(schedule["layers"]):
        u = layer_user_at(layer, tz, t)
        if u is not None:
            return u
    return None


def tz_transitions(tz, frm, to):
    """UTC instants in (frm, to) where tz's UTC offset changes (to the second)."""
    out = []
    t = frm
    while t < to:
        nxt = min(t + DAY, to)
        if t.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            lo, hi = t, nxt  # offset(lo) != offset(hi)
            off = lo.astimezone(tz).utcoffset()
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                if mid.astimezone(tz).utcoffset() == off:
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
        t = nxt
    return out


def change_candidates(schedule, overrides, frm, to):
    """Every instant in (frm, to) where the on-call user may change: handoffs, override
    bounds, the local restriction bounds (both folds) and the zone's offset changes
    (a restriction bound inside a DST gap takes effect at the transition)."""
    tz = ZoneInfo(schedule["time_zone"])
    pts = set()
    for o in overrides:
        pts.update((o["start"], o["end"]))
    bounds = set()
    for layer in schedule["layers"]:
        k = layer_turn_at(layer, tz, frm) or 0
        while True:
            h = handoff(layer, k, tz)
            if h >= to:
                break
            pts.add(h)
            k += 1
        daily, weekly = restrictions(layer)
        for s, e in daily + [(s % 86400, e % 86400) for s, e in weekly]:
            bounds.update((s % 86400, e % 86400))
    if bounds:
        d = frm.astimezone(tz).date() - DAY
        last = to.astimezone(tz).date() + DAY
        while d <= last:
            for b in bounds:
                naive = datetime.combine(d, dtime(b // 3600, b % 3600 // 60, b % 60))
                for fold in (0, 1):
                    pts.add(naive.replace(tzinfo=tz, fold=fold).astimezone(UTC))
            d += DAY
    pts.update(tz_transitions(tz, frm, to))
    return sorted(p for p in pts if frm < p < to)


def shifts(schedule, overrides, frm, to):
    """Maximal intervals of [frm, to) with one on-call user (None for a gap)."""
    out = []
    for p in [frm] + change_candidates(schedule, overrides, frm, to):
        u = schedule_user_at(schedule, overrides, p)
        if out and out[-1]["user"] == u:
            continue
        if out:
            out[-1]["end"] = p
        out.append({"user": u, "start": p, "end": to})
    return out


def brute_shifts(schedule, overrides, frm, to, step=MINUTE):
    """shifts() by sampling every minute: the check of change_candidates()."""
    out = []
    t = frm
    while t < to:
        u = schedule_user_at(schedule, overrides, t)
        if out and out[-1]["user"] == u:
            out[-1]["end"] = t + step
        else:
            out.append({"user": u, "start": t, "end": t + step})
        t += step
    return out


# =========================================================================================
# The schedules under test (the config is generated from these very dicts)
# =========================================================================================
USERS = [("alice", "admin"), ("bob", "responder"), ("carol", "responder"),
         ("dave", "responder"), ("erin", "responder"), ("frank", "responder"),
         ("grace", "responder"), ("heidi", "responder")]

SCHEDULES = [
    {"id": "ny", "time_zone": "America/New_York", "layers": [
        # weekly base, Monday 09:00 local handoffs (13:00Z in summer, 14:00Z in winter)
        {"name": "base", "start": "2026-01-05T09:00", "turn": "1w",
         "users": ["alice", "bob", "carol"]},
        # a later layer restricted to nights, over the weekly base
        {"name": "nights", "start": "2026-01-07T18:00", "turn": "1d",
         "users": ["dave", "erin"], "restrict": {"daily": "18:00-08:00"}},
        # starts later than the others, weekends only
        {"name": "weekend", "start": "2026-09-05T10:00", "turn": "2w",
         "users": ["frank", "grace"], "restrict": {"weekly": ["sat 10:00-sun 22:00"]}},
    ]},
    {"id": "ny-edge", "time_zone": "America/New_York", "layers": [
        # starts inside the spring-forward gap: 02:30 -> 03:30 EDT = 07:30Z
        {"name": "twelve", "start": "2026-03-08T02:30", "turn": "12h",
         "users": ["alice", "bob", "carol"]},
        # starts at a repeated time: 01:30 on 2026-11-01 is the first one, 05:30Z (EDT).
        # Its window ends inside the spring gap: on 2027-03-14 local time jumps from
        # 01:59 to 03:00, so the window closes at 07:00Z (not at 02:30 "moved" = 07:30Z);
        # on 2026-11-01 it holds both 01:xx hours and 02:00-02:30 EST (05:00Z-07:30Z).
        {"name": "small-hours", "start": "2026-11-01T01:30", "turn": "1d",
         "users": ["dave", "erin"], "restrict": {"daily": "01:00-02:30"}},
    ]},
    {"id": "paris", "time_zone": "Europe/Paris", "layers": [
        # Jan 31 + 1mo -> Feb 28; Mar 31; Apr 30; ...
        {"name": "monthly", "start": "2026-01-31T10:00", "turn": "1mo",
         "users": ["alice", "bob", "carol", "dave"]},
        {"name": "business", "start": "2026-03-02T09:00", "turn": "1w",
         "users": ["erin", "frank"], "restrict": {"weekly": ["mon 09:00-fri 17:00"]}},
        # daily and weekly windows together are a union; the weekly one wraps the week end
        {"name": "evenings", "start": "2026-06-01T20:00", "turn": "1d",
         "users": ["grace", "heidi"],
         "restrict": {"daily": "20:00-23:00", "weekly": ["sat 00:00-mon 00:00"]}},
    ]},
    {"id": "sydney", "time_zone": "Australia/Sydney", "layers": [
        {"name": "base", "start": "2026-01-01T08:00", "turn": "12h",
         "users": ["alice", "bob", "carol"]},
        # 02:30 on 2026-04-05 happens twice (DST ends): the first, 15:30Z on Apr 4
        {"name": "nights", "start": "2026-04-05T02:30", "turn": "2w",
         "users": ["dave", "erin"], "restrict": {"daily": "18:00-08:00"}},
        # 02:30 on 2026-10-04 does not exist (DST starts): 16:30Z on Oct 3
        {"name": "weekend", "start": "2026-10-04T02:30", "turn": "1w",
         "users": ["frank", "grace"], "restrict": {"weekly": ["fri 17:00-mon 09:00"]}},
    ]},
    {"id": "kolkata", "time_zone": "Asia/Kolkata", "layers": [
        # business hours only: gaps on nights and weekends until "nights" starts
        {"name": "monthly", "start": "2026-01-31T09:30", "turn": "1mo",
         "users": ["alice", "bob", "carol"], "restrict": {"weekly": ["mon 09:00-fri 17:00"]}},
        {"name": "nights", "start": "2026-06-15T21:00", "turn": "1d",
         "users": ["dave", "erin", "frank"], "restrict": {"daily": "18:00-08:00"}},
    ]},
]


def Z(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


# Overrides per schedule, in creation order (the order they are POSTed).
OVERRIDES = {
    "ny": [
        ("heidi", "2026-05-12T14:00Z", "2026-05-13T02:30Z"),                 # plain
        ("bob", "2026-07-10T12:00Z", "2026-07-11T12:00Z"),                   # overlapping:
        ("carol", "2026-07-11T00:00Z", "2026-07-12T00:00Z"),                 # later wins,
        ("dave", "2026-07-09T18:00Z", "2026-07-10T18:00Z"),                  # even if it starts earlier
        ("grace", "2026-11-01T04:15Z", "2026-11-01T08:45Z"),                 # across DST end
        ("erin", "2027-03-14T05:00Z", "2027-03-14T09:00Z"),                  # across DST start
    ],
    "ny-edge": [
        ("heidi", "2026-11-01T05:10Z", "2026-11-01T06:20Z"),                 # across DST end
    ],
    "paris": [
        ("heidi", "2026-10-24T22:00Z", "2026-10-25T03:00Z"),                 # across DST end
        ("alice", "2026-08-03T06:00Z", "2026-08-05T06:00Z"),
        ("bob", "2026-08-04T00:00Z", "2026-08-04T12:00Z"),                   # inside, later wins
        ("frank", "2027-01-15T12:20Z", "2027-01-15T13:40Z"),                 # plain
    ],
    "sydney": [
        ("heidi", "2026-10-03T14:00Z", "2026-10-03T18:30Z"),                 # across DST start
        ("carol", "2027-04-03T15:00Z", "2027-04-03T17:00Z"),                 # across DST end
        ("dave", "2026-12-24T00:00Z", "2026-12-27T00:00Z"),
        ("erin", "2026-12-23T00:00Z", "2026-12-25T00:00Z"),                  # earlier start, wins
    ],
    "kolkata": [
        ("heidi", "2026-01-10T00:00Z", "2026-01-11T12:30Z"),                 # before any layer
        ("grace", "2026-06-20T10:45Z", "2026-06-21T04:15Z"),                 # plain, over a gap
        ("bob", "2026-09-01T00:00Z", "2026-09-03T00:00Z"),
        ("carol", "2026-09-02T00:00Z", "2026-09-04T00:00Z"),
    ],
}


def overrides_of(sid):
    return [{"user": u, "start": Z(s), "end": Z(e)} for u, s, e in OVERRIDES[sid]]


def _yaml(v):
    if isinstance(v, list):
        return "[" + ", ".join(_yaml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_yaml(x)}" for k, x in v.items()) + "}"
    return json.dumps(v) if any(c in v for c in ":- ") else v


def config_text():
    body = ["users:"]
    body += [f"  - {{id: {u}, name: {u.title()}, role: {r}}}" for u, r in USERS]
    body.append("schedules:")
    for s in SCHEDULES:
        body.append(f"  - id: {s['id']}")
        body.append(f"    time_zone: {s['time_zone']}")
        body.append("    layers:")
        for layer in s["layers"]:
            body.append(f"      - name: {layer['name']}")
            body.append(f"        start: \"{layer['start']}\"")
            body.append(f"        turn: {layer['turn']}")
            body.append(f"        users: {_yaml(layer['users'])}")
            if layer.get("restrict"):
                body.append(f"        restrict: {_yaml(layer['restrict'])}")
    text = "\n".join(body) + "\n"
    head = ('server: {{listen: "127.0.0.1:{port}", time_zone: UTC}}\n'
            "storage: {{sqlite: {db}}}\n")
    return head + text.replace("{", "{{").replace("}", "}}")


# =========================================================================================
# Oracle self-tests: hand-computed expectations
# =========================================================================================
NY = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
SYD = ZoneInfo("Australia/Sydney")
KOL = ZoneInfo("Asia/Kolkata")


def L(start, turn, users=("alice", "bob", "carol"), restrict=None):
    layer = {"name": "x", "start": start, "turn": turn, "users": list(users)}
    if restrict:
        layer["restrict"] = restrict
    return layer


def test_oracle_local_to_utc_gap_and_repeat():
    assert local_to_utc(datetime(2026, 3, 8, 2, 30), NY) == Z("2026-03-08T07:30Z")
    assert local_to_utc(datetime(2026, 3, 8, 3, 0), NY) == Z("2026-03-08T07:00Z")
    assert local_to_utc(datetime(2026, 11, 1, 1, 30), NY) == Z("2026-11-01T05:30Z")
    assert local_to_utc(datetime(2026, 11, 1, 2, 0), NY) == Z("2026-11-01T07:00Z")
    assert local_to_utc(datetime(2026, 4, 5, 2, 30), SYD) == Z("2026-04-04T15:30Z")  # AEDT
    assert local_to_utc(datetime(2026, 10, 4, 2, 30), SYD) == Z("2026-10-03T16:30Z")  # gap
    assert local_to_utc(datetime(2026, 3, 29, 2, 30), PARIS) == Z("2026-03-29T01:30Z")
    assert local_to_utc(datetime(2026, 10, 25, 2, 30), PARIS) == Z("2026-10-25T00:30Z")
    assert local_to_utc(datetime(2026, 7, 1, 9, 30), KOL) == Z("2026-07-01T04:00Z")


def _local_to_utc_by_search(naive, tz):
    """docs/SCHEDULES.md's rule without relying on fold semantics: the earliest UTC
    instant whose local reading is `naive`; in a gap, `naive` read with the offset in
    force just before the gap (i.e. moved forward by the gap)."""
    offsets = sorted({(naive + d).replace(tzinfo=tz).utcoffset()
                      for d in (-2 * DAY, -DAY, DAY, 2 * DAY)}
                     | {naive.replace(tzinfo=tz, fold=f).utcoffset() for f in (0, 1)})
    hits = [(naive - off).replace(tzinfo=UTC) for off in offsets
            if ((naive - off).replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)
                == naive)]
    if hits:
        return min(hits)
    u = (naive - offsets[-1]).replace(tzinfo=UTC)  # a UTC instant just before the gap
    while (u + timedelta(minutes=15)).astimezone(tz).replace(tzinfo=None) < naive:
        u += timedelta(minutes=15)
    before = u.astimezone(tz).utcoffset()
    return (naive - before).replace(tzinfo=UTC)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Paris", "Australia/Sydney",
                                  "Asia/Kolkata"])
def test_oracle_local_to_utc_agrees_with_a_search(zone):
    tz = ZoneInfo(zone)
    days = {c.astimezone(tz).date() for c in
            tz_transitions(tz, Z("2026-01-01T00:00Z"), Z("2028-01-01T00:00Z"))}
    days.add(date(2026, 7, 1))
    for d in days:
        naive = datetime.combine(d - DAY, dtime())
        while naive < datetime.combine(d + 2 * DAY, dtime()):
            assert local_to_utc(naive, tz) == _local_to_utc_by_search(naive, tz), naive
            naive += timedelta(minutes=15)


def test_oracle_weekly_handoff_across_dst_end():
    layer = L("2026-10-19T09:00", "1w")  # a Monday
    assert handoff(layer, 1, NY) == Z("2026-10-26T13:00Z")  # EDT
    assert handoff(layer, 2, NY) == Z("2026-11-02T14:00Z")  # EST
    assert layer_user_at(layer, NY, Z("2026-11-02T13:30Z")) == "bob"
    assert layer_user_at(layer, NY, Z("2026-11-02T13:59Z")) == "bob"
    assert layer_user_at(layer, NY, Z("2026-11-02T14:00Z")) == "carol"
    assert layer_user_at(layer, NY, Z("2026-10-19T12:59Z")) is None
    assert layer_user_at(layer, NY, Z("2026-10-19T13:00Z")) == "alice"
    assert layer_user_at(layer, NY, Z("2026-11-09T14:00Z")) == "alice"


def test_oracle_daily_and_12h_turns_keep_local_time():
    day = L("2026-03-06T09:00", "1d", ["alice", "bob"])
    assert handoff(day, 1, NY) == Z("2026-03-07T14:00Z")
    assert handoff(day, 2, NY) == Z("2026-03-08T13:00Z")  # 23-hour day
    assert layer_user_at(day, NY, Z("2026-03-08T13:30Z")) == "alice"
    half = L("2026-10-31T13:30", "12h")
    assert [handoff(half, k, NY) for k in range(4)] == [
        Z("2026-10-31T17:30Z"), Z("2026-11-01T05:30Z"),   # 01:30 the first time
        Z("2026-11-01T18:30Z"), Z("2026-11-02T06:30Z")]
    assert layer_user_at(half, NY, Z("2026-11-01T06:15Z")) == "bob"   # 01:15 EST, 2nd time


def test_oracle_start_in_the_gap():
    layer = L("2026-03-08T02:30", "1d", ["alice", "bob"])
    assert handoff(layer, 0, NY) == Z("2026-03-08T07:30Z")
    assert layer_user_at(layer, NY, Z("2026-03-08T07:29Z")) is None
    assert layer_user_at(layer, NY, Z("2026-03-08T07:30Z")) == "alice"
    assert handoff(layer, 1, NY) == Z("2026-03-09T06:30Z")
    assert handoff(layer, 371, NY) == Z("2027-03-14T07:30Z")  # the gap again next year


def test_oracle_months_clamp_to_month_end():
    assert add_months(datetime(2026, 1, 31, 10), 1) == datetime(2026, 2, 28, 10)
    assert add_months(datetime(2028, 1, 31, 10), 1) == datetime(2028, 2, 29, 10)
    assert add_months(datetime(2026, 1, 31, 10), 2) == datetime(2026, 3, 31, 10)
    assert add_months(datetime(2026, 1, 31, 10), 3) == datetime(2026, 4, 30, 10)
    assert add_months(datetime(2026, 11, 30, 10), 3) == datetime(2027, 2, 28, 10)
    assert add_months(datetime(2026, 12, 15, 10), 1) == datetime(2027, 1, 15, 10)
    layer = L("2026-01-31T10:00", "1mo", ["alice", "bob", "carol", "dave"])
    assert handoff(layer, 1, PARIS) == Z("2026-02-28T09:00Z")
    assert handoff(layer, 2, PARIS) == Z("2026-03-31T08:00Z")   # CEST by then
    assert handoff(layer, 13, PARIS) == Z("2027-02-28T09:00Z")
    assert layer_user_at(layer, PARIS, Z("2026-03-31T07:59Z")) == "bob"
    assert layer_user_at(layer, PARIS, Z("2026-03-31T08:00Z")) == "carol"
    assert layer_user_at(layer, PARIS, Z("2027-02-28T09:00Z")) == "bob"   # 13 mod 4
    three = L("2026-01-31T09:30", "3mo")
    assert handoff(three, 1, KOL) == Z("2026-04-30T04:00Z")
    assert layer_user_at(three, KOL, Z("2026-07-31T04:00Z")) == "carol"


def test_oracle_restrictions():
    night = L("2026-01-01T00:00", "1w", restrict={"daily": "18:00-08:00"})
    assert restrict_ok(night, NY, Z("2026-07-01T22:30Z"))       # 18:30 EDT
    assert restrict_ok(night, NY, Z("2026-07-01T11:59Z"))       # 07:59 EDT
    assert not restrict_ok(night, NY, Z("2026-07-01T12:00Z"))   # 08:00 EDT
    assert restrict_ok(night, NY, Z("2026-12-01T12:59Z"))       # 07:59 EST
    assert not restrict_ok(night, NY, Z("2026-12-01T13:00Z"))   # 08:00 EST
    assert not restrict_ok(night, NY, Z("2026-12-01T22:59Z"))   # 17:59 EST
    assert restrict_ok(night, NY, Z("2026-12-01T23:00Z"))       # 18:00 EST
    day = L("2026-01-01T00:00", "1w", restrict={"daily": "09:00-17:00"})
    assert restrict_ok(day, KOL, Z("2026-07-01T03:30Z"))        # 09:00 IST
    assert not restrict_ok(day, KOL, Z("2026-07-01T03:29Z"))
    assert not restrict_ok(day, KOL, Z("2026-07-01T11:30Z"))    # 17:00 IST
    biz = L("2026-01-01T00:00", "1w", restrict={"weekly": ["mon 09:00-fri 17:00"]})
    assert restrict_ok(biz, PARIS, Z("2026-03-27T15:59Z"))      # Fri 16:59 CET
    assert not restrict_ok(biz, PARIS, Z("2026-03-27T16:00Z"))  # Fri 17:00 CET
    assert not restrict_ok(biz, PARIS, Z("2026-03-30T06:59Z"))  # Mon 08:59 CEST
    assert restrict_ok(biz, PARIS, Z("2026-03-30T07:00Z"))      # Mon 09:00 CEST
    assert restrict_ok(biz, PARIS, Z("2026-04-01T02:00Z"))      # Wed 04:00 CEST
    wknd = L("2026-01-01T00:00", "1w", restrict={"weekly": ["fri 17:00-mon 09:00"]})
    assert restrict_ok(wknd, SYD, Z("2026-10-03T02:00Z"))       # Sat 12:00 AEST
    assert restrict_ok(wknd, SYD, Z("2026-10-04T21:59Z"))       # Mon 08:59 AEDT
    assert not restrict_ok(wknd, SYD, Z("2026-10-04T22:00Z"))   # Mon 09:00 AEDT
    assert not restrict_ok(wknd, SYD, Z("2026-10-07T02:00Z"))   # Wed
    both = L("2026-01-01T00:00", "1w",
             restrict={"daily": "20:00-23:00", "weekly": ["sat 00:00-mon 00:00"]})
    assert restrict_ok(both, PARIS, Z("2026-07-01T18:30Z"))     # Wed 20:30 CEST
    assert not restrict_ok(both, PARIS, Z("2026-07-01T21:00Z")) # Wed 23:00
    assert restrict_ok(both, PARIS, Z("2026-07-04T10:00Z"))     # Sat
    assert not restrict_ok(both, PARIS, Z("2026-07-05T22:00Z")) # Mon 00:00
    # the rotation goes on underneath the mask
    assert layer_user_at(night, NY, Z("2026-01-08T04:59Z")) == "alice"  # Jan 7 23:59 EST
    assert layer_user_at(night, NY, Z("2026-01-08T05:00Z")) == "bob"    # Jan 8 00:00 EST
    assert layer_user_at(night, NY, Z("2026-01-08T17:00Z")) is None     # 12:00 EST
    assert layer_user_at(night, NY, Z("2026-01-15T05:00Z")) == "carol"


def test_oracle_window_bound_in_the_gap():
    layer = L("2027-03-01T00:00", "1w", restrict={"daily": "01:00-02:30"})
    assert restrict_ok(layer, NY, Z("2027-03-14T06:59Z"))        # 01:59 EST
    assert not restrict_ok(layer, NY, Z("2027-03-14T07:00Z"))    # 03:00 EDT
    assert restrict_ok(layer, NY, Z("2026-11-01T06:45Z"))        # 01:45 EST, 2nd time
    assert restrict_ok(layer, NY, Z("2026-11-01T07:29Z"))        # 02:29 EST
    assert not restrict_ok(layer, NY, Z("2026-11-01T07:30Z"))    # 02:30 EST


def test_oracle_layers_and_overrides():
    sched = {"id": "s", "time_zone": "America/New_York", "layers": [
        L("2026-01-05T09:00", "1w", ["alice", "bob"]),
        L("2026-01-05T18:00", "1d", ["dave", "erin"], {"daily": "18:00-08:00"}),
    ]}
    assert schedule_user_at(sched, [], Z("2026-01-05T13:59Z")) is None
    assert schedule_user_at(sched, [], Z("2026-01-05T14:00Z")) == "alice"
    assert schedule_user_at(sched, [], Z("2026-01-05T23:00Z")) == "dave"
    assert schedule_user_at(sched, [], Z("2026-01-06T12:59Z")) == "dave"   # 07:59
    assert schedule_user_at(sched, [], Z("2026-01-06T13:00Z")) == "alice"  # 08:00
    assert schedule_user_at(sched, [], Z("2026-01-06T23:00Z")) == "erin"
    assert schedule_user_at(sched, [], Z("2026-01-12T15:00Z")) == "bob"
    ovr = [{"user": "carol", "start": Z("2026-01-06T10:00Z"), "end": Z("2026-01-06T14:00Z")},
           {"user": "heidi", "start": Z("2026-01-06T08:00Z"), "end": Z("2026-01-06T12:00Z")}]
    assert schedule_user_at(sched, ovr, Z("2026-01-06T07:59Z")) == "dave"
    assert schedule_user_at(sched, ovr, Z("2026-01-06T08:00Z")) == "heidi"
    assert schedule_user_at(sched, ovr, Z("2026-01-06T11:59Z")) == "heidi"  # created later
    assert schedule_user_at(sched, ovr, Z("2026-01-06T12:00Z")) == "carol"
    assert schedule_user_at(sched, ovr, Z("2026-01-06T14:00Z")) == "alice"
    got = shifts(sched, ovr, Z("2026-01-06T00:00Z"), Z("2026-01-07T00:00Z"))
    assert [(s["user"], s["start"], s["end"]) for s in got] == [
        ("dave", Z("2026-01-06T00:00Z"), Z("2026-01-06T08:00Z")),
        ("heidi", Z("2026-01-06T08:00Z"), Z("2026-01-06T12:00Z")),
        ("carol", Z("2026-01-06T12:00Z"), Z("2026-01-06T14:00Z")),
        ("alice", Z("2026-01-06T14:00Z"), Z("2026-01-06T23:00Z")),
        ("erin", Z("2026-01-06T23:00Z"), Z("2026-01-07T00:00Z"))]


def test_oracle_transitions():
    frm, to = Z("2026-01-01T00:00Z"), Z("2028-01-01T00:00Z")
    assert tz_transitions(NY, frm, to) == [Z("2026-03-08T07:00Z"), Z("2026-11-01T06:00Z"),
                                           Z("2027-03-14T07:00Z"), Z("2027-11-07T06:00Z")]
    assert tz_transitions(SYD, frm, to) == [Z("2026-04-04T16:00Z"), Z("2026-10-03T16:00Z"),
                                            Z("2027-04-03T16:00Z"), Z("2027-10-02T16:00Z")]
    assert tz_transitions(KOL, frm, to) == []


@pytest.mark.parametrize("sched", SCHEDULES, ids=[s["id"] for s in SCHEDULES])
def test_oracle_shifts_match_a_minute_by_minute_scan(sched):
    """The change-point shortcut in shifts() agrees with sampling every minute around
    each DST change and around the overrides."""
    tz = ZoneInfo(sched["time_zone"])
    ovr = overrides_of(sched["id"])
    centers = tz_transitions(tz, Z("2026-01-01T00:00Z"), Z("2028-01-01T00:00Z"))
    centers += [o["start"] for o in ovr] + [Z("2026-06-15T12:00Z")]
    for c in centers:
        frm = c.replace(minute=0, second=0) - DAY
        to = frm + 2 * DAY
        assert shifts(sched, ovr, frm, to) == brute_shifts(sched, ovr, frm, to), c
        got = shifts(sched, ovr, frm, to)
        assert got[0]["start"] == frm and got[-1]["end"] == to
        assert all(a["end"] == b["start"] and a["user"] != b["user"]
                   for a, b in zip(got, got[1:]))


# =========================================================================================
# Against the daemon
# =========================================================================================
RANGE_FROM = Z("2026-01-01T00:00Z")
RANGE_TO = Z("2028-01-01T00:00Z")
# the oracle's own shifts, long enough that every sample's shift is seen whole
SHIFT_FROM = Z("2025-01-01T00:00Z")
SHIFT_TO = Z("2029-01-01T00:00Z")


def iso(t):
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def sample_instants(sched, ovr):
    tz = ZoneInfo(sched["time_zone"])
    pts = set()
    t = RANGE_FROM
    while t <= RANGE_TO:  # every hour over two years
        pts.add(t)
        t += HOUR
    for c in tz_transitions(tz, RANGE_FROM, RANGE_TO):  # every 15 min, +- 1 day
        t = c.replace(minute=0, second=0) - DAY
        while t <= c + DAY:
            pts.add(t)
            t += timedelta(minutes=15)
    edges = [o[k] for o in ovr for k in ("start", "end")]
    for layer in sched["layers"]:
        k = 0
        while (h := handoff(layer, k, tz)) <= RANGE_TO:
            edges.append(h)
            k += 1
    # and every change of the on-call user (restriction bounds, e.g. Kolkata's 18:00
    # local is 12:30Z, which no hourly sample hits)
    edges += [s["start"] for s in shifts(sched, ovr, RANGE_FROM, RANGE_TO)[1:]]
    for e in edges:
        pts.update((e - MINUTE, e, e + MINUTE))
    return sorted(p for p in pts if RANGE_FROM <= p <= RANGE_TO)


def expected_for(sched, ovr):
    """[(t, user, shift_start, shift_end)] for every sample instant."""
    full = shifts(sched, ovr, SHIFT_FROM, SHIFT_TO)
    starts = [s["start"] for s in full]
    out = []
    for t in sample_instants(sched, ovr):
        s = full[bisect.bisect_right(starts, t) - 1]
        out.append((t, s["user"], s["start"], s["end"]))
    return out


class Client:
    """One keep-alive connection; reconnects once if the daemon closed it."""

    def __init__(self, tocsin, user="alice"):
        self.port = tocsin.port
        self.headers = {"Authorization": "Bearer " + tocsin.token(user)}
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def get(self, path):
        for attempt in (0, 1):
            try:
                self.conn.request("GET", path, headers=self.headers)
                r = self.conn.getresponse()
                body = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                return r.status, body
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise

    def close(self):
        self.conn.close()


def start_daemon(make_tocsin):
    t = make_tocsin(config=config_text())
    for s in SCHEDULES:
        for user, start, end in OVERRIDES[s["id"]]:
            r = t.post(f"/api/schedules/{s['id']}/overrides",
                       {"user": user, "start": iso(Z(start)), "end": iso(Z(end))}, user="bob")
            assert r.status == 201, (s["id"], user, start, r)
            o = r.json()["override"]
            assert (o["user"], parse_iso(o["start"]), parse_iso(o["end"])) == \
                (user, Z(start), Z(end)), o
    return t


def _local(t, tz):
    return t.astimezone(tz).strftime("%a %Y-%m-%d %H:%M %Z")


def _summary(what, mismatches, total):
    lines = [f"{len(mismatches)} of {total} {what} differ from the oracle; the first 20:"]
    lines += ["  " + m for m in mismatches[:20]]
    return "\n".join(lines)


@pytest.mark.parametrize("sched", SCHEDULES, ids=[s["id"] for s in SCHEDULES])
def test_oncall_matches_the_oracle_hour_by_hour_for_two_years(make_tocsin, sched):
    sid, tzname = sched["id"], sched["time_zone"]
    tz = ZoneInfo(tzname)
    expected = expected_for(sched, overrides_of(sid))
    t = start_daemon(make_tocsin)
    client = Client(t)
    mismatches, bounds, http_errors = [], [], 0

    def where(at):
        return f"{iso(at)} ({tzname}, {_local(at, tz)})"
    began = time.monotonic()
    try:
        for at, want, s_start, s_end in expected:
            status, body = client.get(f"/api/oncall?schedule={sid}&at={iso(at)}")
            if status != 200:
                mismatches.append(f"{where(at)}: HTTP {status} {body[:200]!r}")
                http_errors += 1
                if http_errors >= 50:
                    mismatches.append("... giving up after 50 HTTP errors")
                    break
                continue
            try:
                entry = json.loads(body)["oncall"][0]
                got = entry["user"]
                g_start, g_end = parse_iso(entry["start"]), parse_iso(entry["end"])
            except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
                mismatches.append(f"{where(at)}: unreadable answer ({e!r}) {body[:200]!r}")
                continue
            if entry.get("schedule") != sid:
                mismatches.append(f"{where(at)}: schedule {entry.get('schedule')!r}, want {sid!r}")
            if got != want:
                mismatches.append(f"{where(at)}: expected {want}, got {got}")
            elif not (g_start <= at < g_end):
                bounds.append(f"{where(at)}: shift [{iso(g_start)}, {iso(g_end)}) "
                              f"does not hold at")
            elif s_start >= at - timedelta(days=300) and s_end <= at + timedelta(days=300) \
                    and (g_start, g_end) != (s_start, s_end):
                # shifts shorter than the one-year horizon must come back whole
                bounds.append(f"{where(at)}: {want or 'nobody'}'s shift "
                              f"[{iso(g_start)}, {iso(g_end)}), "
                              f"expected [{iso(s_start)}, {iso(s_end)})")
    finally:
        client.close()
    elapsed = time.monotonic() - began
    # wrong users first (the point of the test), then wrong shift bounds
    assert not mismatches and not bounds, _summary(
        f"on-call answers for {sid!r} ({elapsed:.1f}s; {len(mismatches)} with the wrong "
        f"user or no answer, {len(bounds)} with the right user but wrong shift bounds)",
        mismatches + bounds, len(expected))


def shift_windows(sched):
    """30-day windows around each of the zone's DST changes in 2026 and 2027 (and two
    fixed ones, so Kolkata gets some too)."""
    tz = ZoneInfo(sched["time_zone"])
    centers = tz_transitions(tz, RANGE_FROM, RANGE_TO)
    centers += [Z("2026-02-01T00:00Z"), Z("2026-06-20T00:00Z")]
    return [(c.replace(hour=0, minute=0, second=0) - timedelta(days=15),
             c.replace(hour=0, minute=0, second=0) + timedelta(days=15)) for c in centers]


def test_shifts_match_the_oracle_around_dst_changes(make_tocsin):
    t = start_daemon(make_tocsin)
    client = Client(t)
    problems, windows = [], 0
    try:
        for sched in SCHEDULES:
            sid, tzname = sched["id"], sched["time_zone"]
            ovr = overrides_of(sid)
            for frm, to in shift_windows(sched):
                windows += 1
                want = [(s["user"], s["start"], s["end"]) for s in shifts(sched, ovr, frm, to)]
                status, body = client.get(
                    f"/api/schedules/{sid}/shifts?from={iso(frm)}&to={iso(to)}")
                head = f"{sid} ({tzname}) [{iso(frm)}, {iso(to)})"
                if status != 200:
                    problems.append(f"{head}: HTTP {status} {body[:200]!r}")
                    continue
                try:
                    got_raw = json.loads(body)["shifts"]
                    got = [(s["user"], parse_iso(s["start"]), parse_iso(s["end"]))
                           for s in got_raw]
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    problems.append(f"{head}: unreadable answer ({e!r}) {body[:200]!r}")
                    continue
                bad_sched = [s for s in got_raw if s.get("schedule") != sid]
                if bad_sched:
                    problems.append(f"{head}: entries for another schedule {bad_sched[:2]}")
                if got != want:
                    i = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                             min(len(got), len(want)))

                    def show(x):
                        return "none" if x is None else f"{x[0]} {iso(x[1])}..{iso(x[2])}"
                    problems.append(
                        f"{head}: {len(got)} shifts, expected {len(want)}; first difference "
                        f"at #{i}: got {show(got[i] if i < len(got) else None)}, expected "
                        f"{show(want[i] if i < len(want) else None)}")
    finally:
        client.close()
    assert not problems, _summary("shift lists", problems, windows)
