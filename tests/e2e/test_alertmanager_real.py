"""A real sender: Debian's prometheus-alertmanager posts to tocsin, once through its
PagerDuty integration (Events API v2) and once through its webhook receiver. The test
posts alerts to Alertmanager's own API; tocsin opens the incident; when the alert
ends (endsAt in the past) Alertmanager tells tocsin and tocsin resolves it."""
import datetime
import json
import shutil
import subprocess
import time
import urllib.request

import pytest

from conftest import DB_KEY, WEB_KEY, free_port, wait_for

AM = shutil.which("prometheus-alertmanager")

PD_RECEIVER = """\
    pagerduty_configs:
      - routing_key: {key}
        url: "http://127.0.0.1:{port}/v2/enqueue"
"""
WEBHOOK_RECEIVER = """\
    webhook_configs:
      - url: "http://127.0.0.1:{port}/integrations/alertmanager/{key}"
"""
AM_CONFIG = """\
route:
  receiver: tocsin
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: tocsin
{receiver}"""


class Alertmanager:
    def __init__(self, tmp, receiver):
        assert AM, "prometheus-alertmanager is not installed (scripts/install-deps)"
        self.port = free_port()
        cfg = tmp / "alertmanager.yml"
        cfg.write_text(AM_CONFIG.format(receiver=receiver))
        self.log = open(tmp / "alertmanager.log", "wb")
        self.proc = subprocess.Popen(
            [AM, f"--config.file={cfg}", f"--storage.path={tmp / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=self.log, stderr=self.log)
        wait_for(self.ready, timeout=30, what="alertmanager ready")

    def ready(self):
        try:
            return urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/-/ready", timeout=2).status == 200
        except OSError:
            return False

    def post_alert(self, labels, annotations, ends=None):
        alert = {"labels": labels, "annotations": annotations,
                 "generatorURL": "http://prom.example/graph"}
        if ends:
            alert["endsAt"] = ends
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v2/alerts",
                                     data=json.dumps([alert]).encode(),
                                     headers={"Content-Type": "application/json"})
        assert urllib.request.urlopen(req, timeout=10).status == 200

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_round_trip(tocsin, tmp_path, receiver, service):
    am = Alertmanager(tmp_path, receiver)
    try:
        labels = {"alertname": "DiskFull", "instance": "db1:9100", "severity": "critical"}
        am.post_alert(labels, {"summary": "Disk 95% full"})
        incs = wait_for(lambda: tocsin.incidents(service=service), timeout=30,
                        what="incident from alertmanager")
        assert incs[0]["status"] == "triggered"
        past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
        am.post_alert(labels, {"summary": "Disk 95% full"}, ends=iso(past))
        wait_for(lambda: tocsin.incidents(service=service)[0]["status"] == "resolved",
                 timeout=30, what="resolve from alertmanager")
        return tocsin.show(incs[0]["number"])
    finally:
        am.stop()


def test_alertmanager_pagerduty_integration(tocsin, tmp_path):
    receiver = PD_RECEIVER.format(key=WEB_KEY, port=tocsin.port)
    shown = run_round_trip(tocsin, tmp_path, receiver, "website")
    alert = shown["alerts"][0]
    assert alert["integration"] == "events_v2"
    assert len(alert["dedup_key"]) == 64            # Alertmanager's SHA-256 group key
    assert shown["title"].startswith("[FIRING:1] DiskFull")
    assert alert["details"]["num_firing"] == "1"     # 0.25 sends strings
    assert shown["log"][-1]["type"] == "resolve"


def test_alertmanager_webhook_receiver(tocsin, tmp_path):
    receiver = WEBHOOK_RECEIVER.format(key=DB_KEY, port=tocsin.port)
    shown = run_round_trip(tocsin, tmp_path, receiver, "database")
    alert = shown["alerts"][0]
    assert alert["integration"] == "alertmanager"
    assert alert["summary"] == "Disk 95% full"
    assert alert["source"] == "db1:9100"
    assert shown["severity"] == "SEV-2"
    assert alert["details"]["labels"]["alertname"] == "DiskFull"
