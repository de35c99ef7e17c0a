"""GET /metrics is valid Prometheus text exposition 0.0.4 (checked by a small parser
written here, strict about what the format requires) and carries tocsin's counters
and gauges: responses by route and code, incidents by status, commit latency."""
import math
import re

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(rf"^({NAME})(\{{(.*)\}})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(,|$)')


def parse(text):
    """{family: {"type", "help", "samples": [(name, labels, value)]}}; asserts the rules:
    HELP/TYPE before a family's samples and once each, known types, valid names,
    labels and values, no duplicate series, histograms cumulative with +Inf == count."""
    families, seen, current = {}, set(), None
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            kind, name, rest = line[2:6], line.split(" ")[2], line.split(" ", 3)[3]
            fam = families.setdefault(name, {"samples": []})
            assert kind.lower() not in fam, f"second {kind} for {name}"
            fam[kind.lower()] = rest
            if kind == "TYPE":
                assert rest in ("counter", "gauge", "histogram", "summary", "untyped"), line
            current = name
            continue
        assert not line.startswith("#") and line.strip(), f"stray line {line!r}"
        m = SAMPLE.match(line)
        assert m, f"bad sample line {line!r}"
        name, labels_text, value = m.group(1), m.group(3) or "", m.group(4)
        labels = {}
        pos = 0
        while pos < len(labels_text):
            lm = LABEL.match(labels_text, pos)
            assert lm, f"bad labels in {line!r}"
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        float(value)            # Nan, +Inf and numbers all parse
        base = re.sub(r"_(bucket|sum|count|total)$", "", name)
        fam = next((f for f in (name, base, name.rsplit("_", 1)[0]) if f in families), None)
        assert fam is not None and fam == current, f"{name} outside its family"
        key = (name, tuple(sorted(labels.items())))
        assert key not in seen, f"duplicate series {key}"
        seen.add(key)
        families[fam]["samples"].append((name, labels, float(value)))
    for name, fam in families.items():
        assert "type" in fam, f"{name} has no TYPE"
        if fam["type"] == "histogram":
            buckets = [(float(l["le"]), v) for n, l, v in fam["samples"] if n.endswith("_bucket")]
            assert buckets and buckets[-1][0] == math.inf, name
            assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), f"{name} not cumulative"
            count = [v for n, _, v in fam["samples"] if n.endswith("_count")][0]
            assert buckets[-1][1] == count, name
    return families


def value(families, family, name=None, **labels):
    for n, l, v in families[family]["samples"]:
        if (name is None or n == name) and all(l.get(k) == w for k, w in labels.items()):
            return v
    return None


def test_metrics_parse_and_count_what_happened(tocsin):
    assert tocsin.enqueue(dedup="m1").status == 202
    assert tocsin.enqueue(dedup="m2").status == 202
    assert tocsin.post("/v2/enqueue", {"routing_key": "nope"}).status == 400
    tocsin.post("/api/incidents/1/ack", user="bob")
    assert tocsin.get("/nowhere").status == 404
    r = tocsin.get("/metrics", user=None)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    fams = parse(r.body)
    assert value(fams, "tocsin_http_responses_total", route="POST /v2/enqueue", code="202") == 2
    assert value(fams, "tocsin_http_responses_total", route="POST /v2/enqueue", code="400") == 1
    assert value(fams, "tocsin_http_responses_total", route="none", code="404") == 1
    assert value(fams, "tocsin_incidents", status="triggered") == 1
    assert value(fams, "tocsin_incidents", status="acknowledged") == 1
    assert value(fams, "tocsin_store_commit_seconds", "tocsin_store_commit_seconds_count") >= 3
    assert value(fams, "tocsin_events_received_total", action="trigger") == 2
    for family in ("tocsin_timer_lateness_seconds", "tocsin_check_lateness_seconds",
                   "tocsin_notifications_total", "tocsin_engine_timers_pending"):
        assert family in fams, family


def test_the_parser_rejects_what_the_format_forbids():
    import pytest
    for bad in ("x 1\n",                                   # no TYPE
                "# TYPE x counter\nx{a=b} 1\n",            # unquoted label
                "# TYPE x counter\nx 1\nx 2\n",            # duplicate series
                "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"):
        with pytest.raises(AssertionError):
            parse(bad)
    parse("# HELP x a thing\n# TYPE x counter\nx{a=\"1\",b=\"q\\\"\"} 3\n")
