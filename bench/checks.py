#!/usr/bin/python3
"""HTTP check benchmark: tocsin's built-in HTTP checks against Debian's Nagios 4 running
the same checks with check_http.

Both sides check one local HTTP server, N checks (default 2000) at a 10 s interval,
one after the other: first tocsin, then Nagios.  Each side runs for a warm-up of
WARMUP seconds (start-up and the first, phase-spread round of checks are not counted),
then is measured over a window of D seconds (default 120).

- The HTTP server is a separate Python process (ThreadingHTTPServer, a thread per
  connection, keep-alive for HTTP/1.1 clients) on 127.0.0.1 at a free port.  It
  answers GET / with 200 and a three-byte body and counts the requests it served;
  GET /__requests returns that count (and is not counted).  It is not a descendant of
  either side, so its CPU is in neither side's figure.
- CPU of a side = the sum of utime + stime + cutime + cstime (/proc/PID/stat fields
  14-17, all threads of each process) over the side's main process and every live
  process descended from it, sampled at the start and at the end of the window; the
  figure is the difference.  A child that has exited and been reaped is in its
  parent's cutime/cstime, so for Nagios this covers the main process, its worker
  processes and every check_http they forked (the workers reap their children at
  once).  For tocsin, which forks nothing, it is utime + stime of the process.
  (getrusage(RUSAGE_CHILDREN) after Nagios has stopped would not do: it covers the
  warm-up too, and Nagios exits without reaping its workers, so their CPU and that of
  every check_http is lost to it.)
- Checks done in the window: for tocsin, the delta of its counter
  tocsin_checks_run_total on /metrics (the server's request count is shown beside
  it); for Nagios, the delta of the server's request count.  CPU per 1,000 checks =
  CPU seconds / checks * 1000.
- Scheduling lateness (when a check started minus when it was due): for tocsin, the
  histogram tocsin_check_lateness_seconds over the window (bucket deltas); the p99 is
  the upper bound of the first bucket whose cumulative count reaches 99% of the count,
  printed as "p99 <= X s".  For Nagios, the check_latency of each service in
  status.dat at the end of the window (the latency of the service's last check;
  Nagios rewrites the file every 10 s); the p99 over the services.

tocsin runs `TOCSIN serve -c CONFIG` with one service and the N checks (h1..hN).
Nagios runs in the foreground (`nagios4 nagios.cfg`) with a complete configuration of
its own in a temporary directory (nothing in /etc/nagios4 is read or changed): one
host with no host check, N services running `check_http -H 127.0.0.1 -p PORT -u / -t 5`
every 10 s (interval_length=1), smart inter-check delay spread over at most one
minute, unlimited concurrent checks, the default number of check workers;
notifications, event handlers, flap detection, performance data, freshness checks,
state retention, external commands, syslog and the update check are off.  The
configuration is verified with `nagios4 -v` first.

Needs the Debian packages nagios4-core and monitoring-plugins-basic (check_http).
Everything lives in temporary directories removed at the end; every process started
is stopped at the end, on error and on Ctrl-C.  Loopback only.

Usage: bench/checks.py [TOCSIN_BINARY] [N] [SECONDS]
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

INTERVAL = 10                # seconds between two runs of a check
WARMUP = 15                  # seconds before the window opens
KEY = "0123456789abcdef0123456789abcdef"
NAGIOS = "/usr/sbin/nagios4"
PLUGINS = "/usr/lib/nagios/plugins"
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGET_RATIO = 10

HTTP_SERVER = r"""
import sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

served = 0
lock = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def do_GET(self):
        global served
        if self.path == "/__requests":
            body = str(served).encode()
        else:
            with lock:
                served += 1
            body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096

server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class BenchError(Exception):
    """A side of the benchmark could not be measured; the message says why."""


# ---- processes -------------------------------------------------------------------

class Children:
    """Processes started by the benchmark, each in a session of its own.  stop() sends
    SIGTERM to the process, waits for it, then kills whatever is left in its process
    group (a Nagios main process stops its workers itself)."""

    def __init__(self):
        self.procs = []

    def start(self, argv, log, stdout=None, **kw):
        """Starts argv with its output (or only its stderr, given stdout) in file log."""
        with open(log, "w") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                    stdout=out if stdout is None else stdout, stderr=out,
                                    start_new_session=True, **kw)
        self.procs.append(proc)
        return proc

    def stop(self, proc):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # whatever is left in the group
        except ProcessLookupError:
            pass
        proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self):
        for proc in reversed(list(self.procs)):
            self.stop(proc)


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (field 3 is index 0)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def tree_cpu(root):
    """CPU seconds of root and all its live descendants: utime + stime + cutime +
    cstime of each."""
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stats[int(name)] = stat_fields(name)
            except OSError:
                pass                      # gone meanwhile
    children = {}
    for pid, f in stats.items():
        children.setdefault(int(f[1]), []).append(pid)
    ticks, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            f = stats[pid]
            ticks += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        todo.extend(children.get(pid, []))
    return ticks / CLK_TCK


def sleep_alive(seconds, proc, what, log):
    """Sleeps, failing as soon as proc has exited."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited ({proc.returncode}): {tail(log)}")
        time.sleep(min(left, 0.5))


def tail(path, lines=5):
    try:
        with open(path, errors="replace") as f:
            text = f.read().strip().splitlines()[-lines:]
    except OSError:
        return "(no log)"
    return " | ".join(text) or "(empty log)"


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


# ---- the HTTP server -------------------------------------------------------------

class Target:
    """The HTTP server both sides check."""

    def __init__(self, children, work):
        log = os.path.join(work, "httpd.log")
        self.proc = children.start(["/usr/bin/python3", "-c", HTTP_SERVER], log,
                                   stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            raise BenchError(f"HTTP server did not start: {tail(log)}")
        self.port = int(line)

    def served(self):
        return int(get(f"http://127.0.0.1:{self.port}/__requests"))


# ---- tocsin ----------------------------------------------------------------------

def tocsin_config(port, work, http_port, n):
    lines = [
        f'server: {{listen: "127.0.0.1:{port}", rate_limit: 0}}',
        f"storage: {{sqlite: {work}/tocsin.db}}",
        "services:",
        f"  - {{id: web, integration_keys: [{KEY}]}}",
        "checks:",
    ]
    lines += [f'  - {{id: h{i}, service: web, type: http, url: "http://127.0.0.1:{http_port}/",'
              f" interval: {INTERVAL}s, timeout: 5s}}" for i in range(1, n + 1)]
    return "\n".join(lines) + "\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_metrics(text):
    """{(name, le or None): value} from Prometheus text format."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)', line)
        if not m:
            continue
        le = re.search(r'le="([^"]*)"', m.group(2) or "")
        out[(m.group(1), le.group(1) if le else None)] = float(m.group(3))
    return out


def tocsin_sample(port):
    metrics = parse_metrics(get(f"http://127.0.0.1:{port}/metrics"))
    if ("tocsin_checks_run_total", None) not in metrics:
        raise BenchError("tocsin has no checks yet: metric tocsin_checks_run_total missing")
    return metrics


def lateness_p99(before, after):
    """Upper bound (seconds) of the first lateness bucket whose cumulative count over
    the window reaches 99% of the window's count; None without the histogram."""
    buckets = sorted((float(le), count - before.get((name, le), 0))
                     for (name, le), count in after.items()
                     if name == "tocsin_check_lateness_seconds_bucket")
    total = buckets[-1][1] if buckets else 0     # the +Inf bucket
    for bound, count in buckets:
        if total > 0 and count >= 0.99 * total:
            return bound
    return None


def run_tocsin(binary, n, seconds, target, children, work):
    """Returns (checks, cpu_seconds, requests_served, p99_lateness or None)."""
    if not os.access(binary, os.X_OK):
        raise BenchError(f"no tocsin binary at {binary} (run make)")
    port = free_port()
    cfg = os.path.join(work, "tocsin.yaml")
    with open(cfg, "w") as f:
        f.write(tocsin_config(port, work, target.port, n))
    log = os.path.join(work, "tocsin.log")
    proc = children.start([binary, "serve", "-c", cfg], log)
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}/healthz", "tocsin", log)
        sleep_alive(WARMUP, proc, "tocsin", log)
        m0, c0, s0 = tocsin_sample(port), tree_cpu(proc.pid), target.served()
        sleep_alive(seconds, proc, "tocsin", log)
        m1, c1, s1 = tocsin_sample(port), tree_cpu(proc.pid), target.served()
    finally:
        children.stop(proc)
    checks = m1[("tocsin_checks_run_total", None)] - m0[("tocsin_checks_run_total", None)]
    return int(checks), c1 - c0, s1 - s0, lateness_p99(m0, m1)


def wait_ready(proc, url, what, log, seconds=20):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited ({proc.returncode}): {tail(log)}")
        try:
            get(url, timeout=2)
            return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"{what} not ready after {seconds}s: {tail(log)}")


# ---- Nagios ----------------------------------------------------------------------

def nagios_main_cfg(d):
    """nagios.cfg: every path in d; check_for_updates=0 keeps Nagios off the network."""
    return f"""\
log_file={d}/nagios.log
cfg_file={d}/objects.cfg
resource_file={d}/resource.cfg
lock_file={d}/nagios.lock
temp_file={d}/nagios.tmp
temp_path={d}/tmp
status_file={d}/status.dat
status_update_interval=10
command_file={d}/nagios.cmd
check_external_commands=0
query_socket={d}/nagios.qh
check_result_path={d}/checkresults
object_cache_file={d}/objects.cache
precached_object_file={d}/objects.precache
state_retention_file={d}/retention.dat
retain_state_information=0
use_retained_program_state=0
use_retained_scheduling_info=0
debug_file={d}/nagios.debug
debug_level=0
nagios_user=root
nagios_group=root
interval_length=1
enable_notifications=0
execute_host_checks=0
accept_passive_host_checks=0
accept_passive_service_checks=0
check_host_freshness=0
check_service_freshness=0
max_concurrent_checks=0
service_inter_check_delay_method=s
max_service_check_spread=1
enable_event_handlers=0
enable_flap_detection=0
process_performance_data=0
enable_environment_macros=0
log_initial_states=0
log_rotation_method=n
log_archive_path={d}/archives
use_syslog=0
check_for_updates=0
event_broker_options=0
illegal_macro_output_chars=`~$&|'"<>
"""


def nagios_objects_cfg(n, http_port):
    head = f"""\
define timeperiod {{
    timeperiod_name 24x7
    alias always
    sunday 00:00-24:00
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
}}
define command {{
    command_name check_local_http
    command_line $USER1$/check_http -H 127.0.0.1 -p {http_port} -u / -t 5
}}
define command {{
    command_name notify_nobody
    command_line /bin/true
}}
define contact {{
    contact_name nobody
    host_notifications_enabled 0
    service_notifications_enabled 0
    host_notification_period 24x7
    service_notification_period 24x7
    host_notification_options n
    service_notification_options n
    host_notification_commands notify_nobody
    service_notification_commands notify_nobody
}}
define host {{
    host_name local
    address 127.0.0.1
    active_checks_enabled 0
    passive_checks_enabled 0
    check_period 24x7
    max_check_attempts 1
    contacts nobody
    notification_period 24x7
    notifications_enabled 0
}}
"""
    service = """\
define service {{
    host_name local
    service_description h{i}
    check_command check_local_http
    check_period 24x7
    check_interval {interval}
    retry_interval {interval}
    max_check_attempts 1
    contacts nobody
    notification_period 24x7
    notifications_enabled 0
}}
"""
    return head + "".join(service.format(i=i, interval=INTERVAL) for i in range(1, n + 1))


def write_nagios_config(d, n, http_port):
    for sub in ("tmp", "checkresults", "archives"):
        os.makedirs(os.path.join(d, sub))
    files = {"nagios.cfg": nagios_main_cfg(d),
             "objects.cfg": nagios_objects_cfg(n, http_port),
             "resource.cfg": f"$USER1$={PLUGINS}\n"}
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return os.path.join(d, "nagios.cfg")


def verify_nagios(cfg):
    r = subprocess.run([NAGIOS, "-v", cfg], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=120)
    if r.returncode != 0:
        problems = [l for l in r.stdout.splitlines() if re.search(r"error|warning", l, re.I)]
        raise BenchError("nagios4 -v rejected the configuration: " +
                         " | ".join(problems[-5:] or r.stdout.splitlines()[-5:]))


def service_latencies(status_file):
    """check_latency of every service in status.dat."""
    with open(status_file, errors="replace") as f:
        text = f.read()
    latencies = []
    for block in re.findall(r"servicestatus \{(.*?)\}", text, re.S):
        m = re.search(r"^\s*check_latency=(\S+)", block, re.M)
        if m:
            latencies.append(float(m.group(1)))
    return latencies


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def run_nagios(n, seconds, target, children, work):
    """Returns (checks, cpu_seconds, p99 latency or None)."""
    for path in (NAGIOS, f"{PLUGINS}/check_http"):
        if not os.access(path, os.X_OK):
            raise BenchError(f"{path} missing: apt-get install nagios4-core "
                             "monitoring-plugins-basic")
    cfg = write_nagios_config(work, n, target.port)
    verify_nagios(cfg)
    log = os.path.join(work, "nagios.out")
    proc = children.start([NAGIOS, cfg], log, cwd=work)
    try:
        sleep_alive(WARMUP, proc, "nagios4", log)
        c0, s0 = tree_cpu(proc.pid), target.served()
        sleep_alive(seconds, proc, "nagios4", log)
        c1, s1 = tree_cpu(proc.pid), target.served()
        latencies = service_latencies(os.path.join(work, "status.dat"))
    finally:
        children.stop(proc)
    p99 = percentile(latencies, 0.99) if latencies else None
    return s1 - s0, c1 - c0, p99


# ---- report ----------------------------------------------------------------------

def per_1000(cpu, checks):
    return cpu / checks * 1000 if checks > 0 else None


def fmt(x):
    return "-" if x is None else f"{x:.3g}"


def tocsin_side(binary, n, seconds, target, children, work):
    """Runs the tocsin half; prints its line and returns its CPU s per 1000 checks."""
    head = f"checks: tocsin: {n} http checks every {INTERVAL}s for {seconds}s"
    try:
        checks, cpu, served, p99 = run_tocsin(binary, n, seconds, target, children, work)
    except BenchError as e:
        print(f"{head}: FAILED: {e}", flush=True)
        return None
    cost = per_1000(cpu, checks)
    if p99 is None:
        late = "lateness not reported"
    elif p99 == float("inf"):
        late = "lateness p99 > 10 s"
    else:
        late = f"lateness p99 <= {p99:g} s"
    print(f"{head}: {checks} checks (server saw {served}, expected "
          f"{n * seconds // INTERVAL}), {fmt(cpu)} CPU s, {fmt(cost)} CPU s per 1000 checks, "
          f"{late}", flush=True)
    return cost


def nagios_side(n, seconds, target, children, work):
    """Runs the Nagios half; prints its line and returns its CPU s per 1000 checks."""
    head = f"checks: nagios4: {n} check_http every {INTERVAL}s for {seconds}s"
    try:
        checks, cpu, p99 = run_nagios(n, seconds, target, children, work)
    except BenchError as e:
        print(f"{head}: FAILED: {e}", flush=True)
        return None
    cost = per_1000(cpu, checks)
    late = "latency not measured" if p99 is None else f"latency p99 {p99:.3g} s"
    print(f"{head}: {checks} checks (expected {n * seconds // INTERVAL}), {fmt(cpu)} CPU s, "
          f"{fmt(cost)} CPU s per 1000 checks, {late}", flush=True)
    return cost


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "./tocsin"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 120
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    children = Children()
    work = tempfile.mkdtemp(prefix="tocsin-checks.")
    try:
        target = Target(children, work)
        for side in ("tocsin", "nagios"):
            os.mkdir(os.path.join(work, side))
        t_cost = tocsin_side(binary, n, seconds, target, children, f"{work}/tocsin")
        n_cost = nagios_side(n, seconds, target, children, f"{work}/nagios")
    except BenchError as e:
        print(f"checks: FAILED: {e}")
        return 1
    finally:
        children.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    if t_cost and n_cost:
        print(f"checks: tocsin uses {n_cost / t_cost:.1f}x less CPU per check than nagios4"
              f" (target: at least {TARGET_RATIO}x)")
        return 0
    print("checks: no CPU ratio: a side was not measured")
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("checks: interrupted", file=sys.stderr)
        sys.exit(130)
