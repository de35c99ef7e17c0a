/*
 * check_types.c - what each kind of check looks at, and how it says so.
 *
 * check_types[] has one row per kind (see check.h for the hooks).  Outputs follow
 * Nagios plugins: "HTTP OK: 200 in 12 ms", "DISK CRITICAL: 4.1% free on /", so a
 * person reading an incident knows at once what failed.  Commands are the real
 * Nagios plugin protocol (PROTOCOLS.md section 4): exit 0/1/2/3, anything else
 * UNKNOWN, "TEXT | perfdata" on the first line, long output after it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "timeutil.h"
#include "banned.h"

extern char **environ;

static const char *const state_names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

const char *check_state_name(int state)
{
	return state >= 0 && state <= 3 ? state_names[state] : "UNKNOWN";
}

void check_run_say(struct check_run *r, int state, const char *fmt, ...)
{
	va_list ap;
	r->state = state;
	buf_reset(&r->output);
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	buf_adds(&r->output, s);
	free(s);
}

static void keep(struct check_run *r, const char *p, size_t n)
{
	r->seen += n;
	if (r->got.len < CHECK_OUTPUT_MAX)
		buf_add(&r->got, p, n < CHECK_OUTPUT_MAX - r->got.len ? n : CHECK_OUTPUT_MAX - r->got.len);
}

/* --- http ------------------------------------------------------------------ */

static size_t web_body(char *p, size_t size, size_t n, void *arg)
{
	keep(arg, p, size * n);
	return size * n;
}

static int web_start(struct check_run *r, CURLM *multi)
{
	const struct check *c = r->def;
	if (r->easy)		/* the check's handle from its last run: options anew */
		curl_easy_reset(r->easy);
	else
		r->easy = curl_easy_init();
	curl_easy_setopt(r->easy, CURLOPT_URL, c->url);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)c->timeout);
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "tocsin-check");
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, web_body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
	if (c->cert_expiry)
		curl_easy_setopt(r->easy, CURLOPT_CERTINFO, 1L);
	if (!strcmp(c->method, "HEAD"))
		curl_easy_setopt(r->easy, CURLOPT_NOBODY, 1L);
	else if (strcmp(c->method, "GET"))
		curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, c->method);
	for (size_t i = 0; i < c->headers.n; i++)
		r->headers = curl_slist_append(r->headers, c->headers.v[i]);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_multi_add_handle(multi, r->easy);
	return RUN_PENDING;
}

static int status_expected(const struct check *c, long code)
{
	for (size_t i = 0; i < c->nexpect; i++)
		if (code >= c->expect[i].lo && code <= c->expect[i].hi)
			return 1;
	return 0;
}

/* Days until the server certificate ends; -1 when unknown. */
static long cert_days_left(CURL *easy)
{
	struct curl_certinfo *ci = NULL;
	if (curl_easy_getinfo(easy, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
		return -1;
	for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next) {
		struct tm tm = { 0 };
		if (strncmp(s->data, "Expire date:", 12) ||
		    !strptime(s->data + 12, " %b %d %H:%M:%S %Y", &tm))
			continue;
		return (long)((timegm(&tm) - time(NULL)) / 86400);
	}
	return -1;
}

static void web_done(struct check_run *r, CURLcode cc)
{
	const struct check *c = r->def;
	long code = 0;
	curl_off_t us = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &us);
	r->latency = (int64_t)(us / 1000);
	buf_addf(&r->perfdata, "time=%.3fs;;;0 size=%zuB;;;0", (double)us / 1e6, r->seen);
	if (cc != CURLE_OK) {
		check_run_say(r, CHK_CRITICAL, "HTTP CRITICAL: %s", curl_easy_strerror(cc));
		return;
	}
	if (!status_expected(c, code)) {
		check_run_say(r, CHK_CRITICAL, "HTTP CRITICAL: %ld in %lld ms (expected %d%s)", code,
			      (long long)r->latency, c->expect[0].lo, c->nexpect > 1 ? ", ..." : "");
		return;
	}
	const char *body = buf_str(&r->got);
	regex_t re;
	if (c->body_contains && !strstr(body, c->body_contains)) {
		check_run_say(r, CHK_CRITICAL, "HTTP CRITICAL: %ld, but the body does not contain '%s'",
			      code, c->body_contains);
		return;
	}
	if (c->body_regex && regcomp(&re, c->body_regex, REG_EXTENDED | REG_NOSUB) == 0) {
		int miss = regexec(&re, body, 0, NULL, 0) != 0;
		regfree(&re);
		if (miss) {
			check_run_say(r, CHK_CRITICAL, "HTTP CRITICAL: %ld, but the body does not match "
				      "'%s'", code, c->body_regex);
			return;
		}
	}
	long days = c->cert_expiry ? cert_days_left(r->easy) : -1;
	if (c->max_latency && r->latency > c->max_latency)
		check_run_say(r, CHK_WARNING, "HTTP WARNING: %ld in %lld ms (more than %lld ms)", code,
			      (long long)r->latency, (long long)c->max_latency);
	else if (c->cert_expiry && days >= 0 && days < c->cert_expiry)
		check_run_say(r, CHK_WARNING, "HTTP WARNING: %ld in %lld ms; the certificate ends in "
			      "%ld days", code, (long long)r->latency, days);
	else
		check_run_say(r, CHK_OK, "HTTP OK: %ld in %lld ms", code, (long long)r->latency);
}

/* The handle stays with the check (check.c keeps it for its next run). */
static void web_release(struct check_run *r)
{
	curl_slist_free_all(r->headers);
	r->headers = NULL;
}

/* --- tcp ---------------------------------------------------------------------- */

enum { TCP_CONNECTING, TCP_READING };

static int tcp_start(struct check_run *r, CURLM *multi)
{
	const char *addr = r->def->address, *colon = strrchr(addr, ':');
	char *host = xstrndup(addr, (size_t)(colon - addr));
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int rc = getaddrinfo(host[0] == '[' ? host + 1 : host, colon + 1, &hints, &ai);
	free(host);
	if (rc != 0) {
		check_run_say(r, CHK_CRITICAL, "TCP CRITICAL: cannot resolve %s: %s", addr,
			      gai_strerror(rc));
		return RUN_DONE;
	}
	r->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0 || (connect(r->fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)) {
		check_run_say(r, CHK_CRITICAL, "TCP CRITICAL: %s: %s", addr, strerror(errno));
		freeaddrinfo(ai);
		return RUN_DONE;
	}
	freeaddrinfo(ai);
	r->events = POLLOUT;
	r->phase = TCP_CONNECTING;
	return RUN_PENDING;
}

static int tcp_connected(struct check_run *r)
{
	int err = 0;
	socklen_t len = sizeof(err);
	getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		check_run_say(r, CHK_CRITICAL, "TCP CRITICAL: %s: %s", r->def->address, strerror(err));
		return RUN_DONE;
	}
	r->latency = clock_mono_ms() - r->started;
	if (r->def->send && send(r->fd, r->def->send, strlen(r->def->send), MSG_NOSIGNAL) < 0) {
		check_run_say(r, CHK_CRITICAL, "TCP CRITICAL: cannot send to %s: %s", r->def->address,
			      strerror(errno));
		return RUN_DONE;
	}
	if (!r->def->expect_text) {
		check_run_say(r, CHK_OK, "TCP OK: %s answered in %lld ms", r->def->address,
			      (long long)r->latency);
		return RUN_DONE;
	}
	r->events = POLLIN;
	r->phase = TCP_READING;
	return RUN_PENDING;
}

static int tcp_step(struct check_run *r, short revents, int timed_out)
{
	const struct check *c = r->def;
	if (timed_out) {
		check_run_say(r, CHK_CRITICAL, "TCP CRITICAL: %s: %s after %lld ms", c->address,
			      r->phase == TCP_CONNECTING ? "no connection" : "no expected answer",
			      (long long)c->timeout);
		return RUN_DONE;
	}
	if (r->phase == TCP_CONNECTING)
		return tcp_connected(r);
	char chunk[4096];
	ssize_t n = recv(r->fd, chunk, sizeof(chunk), 0);
	if (n > 0)
		keep(r, chunk, (size_t)n);
	if (strstr(buf_str(&r->got), c->expect_text)) {
		check_run_say(r, CHK_OK, "TCP OK: %s answered '%s' in %lld ms", c->address,
			      c->expect_text, (long long)(clock_mono_ms() - r->started));
		return RUN_DONE;
	}
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		check_run_say(r, CHK_CRITICAL, "TCP CRITICAL: %s closed without '%s'", c->address,
			      c->expect_text);
		return RUN_DONE;
	}
	return RUN_PENDING;
}

static void fd_release(struct check_run *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* --- process ------------------------------------------------------------------- */

static int count_named(const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d))) {
		char path[300], comm[64];
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		FILE *f = fopen(path, "re");
		if (f && fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = '\0';
			n += !strcmp(comm, name);
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

static int pidfile_alive(const char *path, long *pid)
{
	FILE *f = fopen(path, "re");
	*pid = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld", pid) != 1)
		*pid = 0;
	fclose(f);
	return *pid > 0 && (kill((pid_t)*pid, 0) == 0 || errno == EPERM);
}

static int process_start(struct check_run *r, CURLM *multi)
{
	const struct check *c = r->def;
	long pid;
	if (c->pidfile && !pidfile_alive(c->pidfile, &pid)) {
		if (pid)
			check_run_say(r, CHK_CRITICAL, "PROCS CRITICAL: pid %ld of %s is not running",
				      pid, c->pidfile);
		else
			check_run_say(r, CHK_CRITICAL, "PROCS CRITICAL: no pid in %s", c->pidfile);
		return RUN_DONE;
	}
	if (!c->name) {
		check_run_say(r, CHK_OK, "PROCS OK: pid %ld of %s is running", pid, c->pidfile);
		return RUN_DONE;
	}
	int n = count_named(c->name);
	buf_addf(&r->perfdata, "procs=%d;;%d;0", n, c->min_count);
	if (n < c->min_count)
		check_run_say(r, CHK_CRITICAL, "PROCS CRITICAL: %d process%s named '%s' (at least %d)", n,
			      n == 1 ? "" : "es", c->name, c->min_count);
	else
		check_run_say(r, CHK_OK, "PROCS OK: %d process%s named '%s'", n, n == 1 ? "" : "es",
			      c->name);
	return RUN_DONE;
}

/* --- disk -------------------------------------------------------------------------- */

static int disk_start(struct check_run *r, CURLM *multi)
{
	const struct check *c = r->def;
	struct statvfs v;
	if (statvfs(c->path, &v) < 0) {
		check_run_say(r, CHK_UNKNOWN, "DISK UNKNOWN: %s: %s", c->path, strerror(errno));
		return RUN_DONE;
	}
	double pct = v.f_blocks ? 100.0 * (double)v.f_bavail / (double)v.f_blocks : 0;
	double ipct = v.f_files ? 100.0 * (double)v.f_favail / (double)v.f_files : 100;
	int64_t bytes = (int64_t)v.f_bavail * (int64_t)v.f_frsize;
	buf_addf(&r->perfdata, "free=%lldB;;;0;%lld free_pct=%.1f%%;;;0;100 inodes_free_pct=%.1f%%",
		 (long long)bytes, (long long)v.f_blocks * (long long)v.f_frsize, pct, ipct);
	if (c->min_free_pct >= 0 && pct < c->min_free_pct)
		check_run_say(r, CHK_CRITICAL, "DISK CRITICAL: %.1f%% free on %s (at least %g%%)", pct,
			      c->path, c->min_free_pct);
	else if (c->min_free_bytes >= 0 && bytes < c->min_free_bytes)
		check_run_say(r, CHK_CRITICAL, "DISK CRITICAL: %lld MB free on %s (at least %lld MB)",
			      (long long)(bytes >> 20), c->path, (long long)(c->min_free_bytes >> 20));
	else if (c->min_free_inodes >= 0 && ipct < c->min_free_inodes)
		check_run_say(r, CHK_CRITICAL, "DISK CRITICAL: %.1f%% inodes free on %s (at least %g%%)",
			      ipct, c->path, c->min_free_inodes);
	else
		check_run_say(r, CHK_OK, "DISK OK: %.1f%% free (%lld MB) on %s", pct,
			      (long long)(bytes >> 20), c->path);
	return RUN_DONE;
}

/* --- heartbeat --------------------------------------------------------------------------- */

static int heartbeat_start(struct check_run *r, CURLM *multi)
{
	const struct check *c = r->def;
	int64_t last = r->last_ping ? r->last_ping : r->watched_since;
	char every[32], ago[32];
	duration_format(c->expect_every, every, sizeof(every));
	duration_format((r->now - last) / 1000 * 1000, ago, sizeof(ago));
	if (r->now - last > c->expect_every + c->grace)
		check_run_say(r, CHK_CRITICAL, r->last_ping ? "HEARTBEAT CRITICAL: no ping for %s "
							    "(expected every %s)"
							  : "HEARTBEAT CRITICAL: no ping in %s since "
							    "the check began (expected every %s)",
			      ago, every);
	else if (r->last_ping)
		check_run_say(r, CHK_OK, "HEARTBEAT OK: last ping %s ago (expected every %s)", ago,
			      every);
	else
		check_run_say(r, CHK_OK, "HEARTBEAT OK: waiting for the first ping (expected every %s)",
			      every);
	return RUN_DONE;
}

/* --- command ------------------------------------------------------------------------------ */

/* Splits a command line on blanks, with '...' and "..." quoting; argv NULL-ended. */
static char **split_words(const char *s)
{
	char **argv = xcalloc(strlen(s) / 2 + 2, sizeof(*argv));
	size_t n = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		struct buf w = BUF_INIT;
		for (char q = 0; *s && (q || (*s != ' ' && *s != '\t')); s++) {
			if (!q && (*s == '\'' || *s == '"'))
				q = *s;
			else if (q && *s == q)
				q = 0;
			else
				buf_addc(&w, *s);
		}
		argv[n++] = buf_detach(&w, NULL);
	}
	return argv;
}

static int command_start(struct check_run *r, CURLM *multi)
{
	int pipefd[2];
	char **argv = r->def->shell ? NULL : split_words(r->def->command);
	char *sh[] = { "/bin/sh", "-c", r->def->command, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		check_run_say(r, CHK_UNKNOWN, "UNKNOWN: cannot make a pipe: %s", strerror(errno));
		return RUN_DONE;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0);	/* its own group: a timeout kills it all */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	char **args = argv ? argv : sh;
	int rc = args[0] ? posix_spawn(&r->pid, args[0], &fa, &attr, args, environ) : ENOENT;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pipefd[1]);
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
	if (rc != 0) {
		close(pipefd[0]);
		r->pid = 0;
		check_run_say(r, CHK_UNKNOWN, "UNKNOWN: cannot run '%s': %s", r->def->command,
			      strerror(rc));
		return RUN_DONE;
	}
	r->fd = pipefd[0];
	fcntl(r->fd, F_SETFL, O_NONBLOCK);
	r->events = POLLIN;
	return RUN_PENDING;
}

/* "TEXT | perf" first line, long output and more perfdata after a later '|'. */
static void plugin_output(struct check_run *r)
{
	const char *out = buf_str(&r->got);
	size_t first = strcspn(out, "\n");
	const char *bar = memchr(out, '|', first);
	size_t text = bar ? (size_t)(bar - out) : first;
	while (text && out[text - 1] == ' ')
		text--;
	buf_reset(&r->output);
	buf_add(&r->output, out, text);
	if (bar) {
		const char *perf = bar + 1 + strspn(bar + 1, " "), *end = out + first;
		while (end > perf && (end[-1] == ' ' || end[-1] == '\r'))
			end--;
		buf_add(&r->perfdata, perf, end > perf ? (size_t)(end - perf) : 0);
	}
	const char *rest = out[first] ? out + first + 1 : out + first;
	const char *more = strchr(rest, '|');
	buf_add(&r->long_output, rest, more ? (size_t)(more - rest) : strlen(rest));
	if (more) {
		buf_addc(&r->perfdata, ' ');
		buf_adds(&r->perfdata, more + 1);
	}
	if (r->seen > r->got.len)
		buf_addf(&r->long_output, "\n[%zu more bytes of output not kept]", r->seen - r->got.len);
}

static int command_finish(struct check_run *r)
{
	int status = 0;
	waitpid(r->pid, &status, 0);
	r->pid = 0;
	r->latency = clock_mono_ms() - r->started;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	plugin_output(r);
	r->state = code >= 0 && code <= 3 ? code : CHK_UNKNOWN;
	if (!r->output.len || code < 0 || code > 3) {
		char *text = xstrdup(buf_str(&r->output));
		if (WIFSIGNALED(status))
			check_run_say(r, CHK_UNKNOWN, "UNKNOWN: killed by signal %d%s%s",
				      WTERMSIG(status), *text ? ": " : "", text);
		else if (code > 3)
			check_run_say(r, CHK_UNKNOWN, "UNKNOWN: exit status %d%s%s", code,
				      *text ? ": " : "", text);
		else if (!*text)
			check_run_say(r, r->state, "%s: no output", check_state_name(r->state));
		free(text);
	}
	return RUN_DONE;
}

static int command_step(struct check_run *r, short revents, int timed_out)
{
	if (timed_out) {
		kill(-r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
		plugin_output(r);
		char *text = xstrdup(buf_str(&r->output));
		check_run_say(r, CHK_UNKNOWN, "UNKNOWN: killed after the %lld ms timeout%s%s",
			      (long long)r->def->timeout, *text ? "; it said: " : "", text);
		free(text);
		return RUN_DONE;
	}
	char chunk[8192];
	ssize_t n;
	while ((n = read(r->fd, chunk, sizeof(chunk))) > 0)
		keep(r, chunk, (size_t)n);
	if (n == 0)
		return command_finish(r);
	return errno == EAGAIN || errno == EINTR ? RUN_PENDING : command_finish(r);
}

static void command_release(struct check_run *r)
{
	fd_release(r);
	if (r->pid > 0) {
		kill(-r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
}

static const struct check_type check_types[] = {
	{ CHECK_HTTP, web_start, NULL, web_done, web_release },
	{ CHECK_TCP, tcp_start, tcp_step, NULL, fd_release },
	{ CHECK_PROCESS, process_start, NULL, NULL, NULL },
	{ CHECK_DISK, disk_start, NULL, NULL, NULL },
	{ CHECK_HEARTBEAT, heartbeat_start, NULL, NULL, NULL },
	{ CHECK_COMMAND, command_start, command_step, NULL, command_release },
};

const struct check_type *check_type_for(enum check_kind kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(check_types); i++)
		if (check_types[i].kind == kind)
			return &check_types[i];
	return NULL;
}
