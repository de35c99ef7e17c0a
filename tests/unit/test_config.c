/*
 * test_config.c - tocsin.yaml as a user writes it: what loads, what the defaults are,
 * and the exact "file:line:col: message" a mistake earns.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "banned.h"

/* Parses yaml that must be valid. */
static struct config *ok(const char *yaml)
{
	struct strlist errs = STRLIST_INIT;
	struct config *c = config_parse("tocsin.yaml", yaml, strlen(yaml), &errs);

	cr_assert_not_null(c, "unexpected error: %s", errs.n ? errs.v[0] : "(none)");
	cr_assert_eq(errs.n, 0);
	strlist_release(&errs);
	return c;
}

/* Parses yaml that must fail; returns every message, one per line. */
static char *bad(const char *yaml)
{
	struct strlist errs = STRLIST_INIT;
	struct config *c = config_parse("tocsin.yaml", yaml, strlen(yaml), &errs);
	struct buf b = BUF_INIT;

	cr_assert_null(c, "config should have been rejected");
	cr_assert_gt(errs.n, 0, "a rejected config must say why");
	for (size_t i = 0; i < errs.n; i++)
		buf_addf(&b, "%s\n", errs.v[i]);
	strlist_release(&errs);
	return buf_detach(&b, NULL);
}

/* yaml must fail with exactly this one message. */
static void bad_one(const char *yaml, const char *want)
{
	char *got = bad(yaml);
	char *line = xasprintf("%s\n", want);

	cr_assert_str_eq(got, line);
	free(line);
	free(got);
}

#define USERS "users:\n  - id: alice\n  - id: bob\n"

Test(config, unknown_key_points_at_the_key)
{
	bad_one("server:\n    public_url: http://x\n    lisen: 127.0.0.1:8080\n",
		"tocsin.yaml:3:5: unknown key 'lisen' in 'server'");
	bad_one("server: {}\nstorge: {sqlite: x}\n",
		"tocsin.yaml:2:1: unknown key 'storge' in 'tocsin.yaml'");
	bad_one(USERS "    phone: 123\n", "tocsin.yaml:4:5: unknown key 'phone' in 'users'");
}

Test(config, bad_duration_says_what_to_write)
{
	bad_one(USERS
		"escalation_policies:\n"
		"  - id: web\n"
		"    levels:\n"
		"      - {targets: [user:alice], escalate_after: 5 minutes}\n",
		"tocsin.yaml:7:49: bad duration '5 minutes' for 'escalate_after' "
		"(use e.g. 500ms, 30s, 15m, 4h, 1d, 1w)");
}

Test(config, duplicate_ids)
{
	bad_one("users:\n  - id: alice\n  - id: alice\n",
		"tocsin.yaml:3:9: duplicate user id 'alice'");
	bad_one("users:\n  - id: alice\n    contact_methods:\n"
		"      - {id: mail, type: email, address: a@example.com}\n"
		"      - {id: mail, type: email, address: b@example.com}\n",
		"tocsin.yaml:5:14: duplicate contact method id 'mail'");
}

Test(config, contact_ids_are_per_user)
{
	struct config *c = ok("users:\n"
			      "  - {id: a, contact_methods: [{id: mail, type: email, address: x}]}\n"
			      "  - {id: b, contact_methods: [{id: mail, type: email, address: y}]}\n");
	config_unref(c);
}

Test(config, policy_naming_a_missing_schedule)
{
	bad_one("escalation_policies:\n"
		"  - id: web\n"
		"    levels:\n"
		"      - {targets: [schedule:primary], escalate_after: 15m}\n",
		"tocsin.yaml:4:20: escalation policy 'web' names unknown schedule 'primary'");
}

Test(config, references_may_point_forward)
{
	struct config *c = ok("services:\n"
			      "  - {id: web, team: t, escalation_policy: p}\n"
			      "escalation_policies:\n"
			      "  - {id: p, levels: [{targets: [schedule:s], escalate_after: 5m}]}\n"
			      "schedules:\n"
			      "  - id: s\n"
			      "    time_zone: UTC\n"
			      "    layers: [{start: '2026-11-02T09:00', turn: 1w, users: [u]}]\n"
			      "teams: [{id: t, members: [u]}]\n"
			      "users: [{id: u}]\n");
	cr_assert_eq(config_policy(c, "p")->levels[0].targets[0].kind, TARGET_SCHEDULE);
	cr_assert_str_eq(config_policy(c, "p")->levels[0].targets[0].id, "s");
	config_unref(c);
}

Test(config, rule_naming_an_unknown_contact)
{
	bad_one("users:\n"
		"  - id: alice\n"
		"    contact_methods: [{id: mail, type: email, address: a@example.com}]\n"
		"    notification_rules:\n"
		"      - {contact: pager, after: 5m}\n",
		"tocsin.yaml:5:19: user 'alice' names unknown contact method 'pager'");
}

Test(config, rule_cannot_use_another_users_contact)
{
	char *got = bad("users:\n"
			"  - {id: a, contact_methods: [{id: phone, type: sms, address: '+1555'}]}\n"
			"  - {id: b, notification_rules: [{contact: phone}]}\n");

	cr_assert_str_eq(got, "tocsin.yaml:3:44: user 'b' names unknown contact method 'phone'\n");
	free(got);
}

Test(config, wrong_types)
{
	bad_one("server:\n  listen: {host: x}\n",
		"tocsin.yaml:2:3: 'listen' must be a string");
	bad_one("server:\n  rate_limit: lots\n",
		"tocsin.yaml:2:15: 'rate_limit' must be an integer");
	bad_one("notify: {allow_private: yes}\n",
		"tocsin.yaml:1:25: 'allow_private' must be true or false");
	bad_one("users: {id: alice}\n", "tocsin.yaml:1:1: 'users' must be a list");
	bad_one("users: [alice]\n", "tocsin.yaml:1:9: entries of 'users' must be mappings");
	bad_one("- a\n- b\n", "tocsin.yaml:1:3: the top level must be a mapping");
}

Test(config, yaml_syntax_error_has_a_position)
{
	bad_one("server:\n  listen: [127.0.0.1\nstorage: {}\n",
		"tocsin.yaml:4:1: flow sequence without a closing bracket");
	bad_one("users:\n  - id: a\n  - id: b\nusers: []\n", "tocsin.yaml:4:1: duplicate key");
}

Test(config, every_problem_is_reported_in_one_run)
{
	char *got = bad("server:\n"
			"  lisen: x\n"
			"users:\n"
			"  - id: alice\n"
			"    role: root\n"
			"    time_zone: Europe/Pariss\n"
			"  - id: alice\n"
			"services:\n"
			"  - {id: web, escalation_policy: nope, postmortem_at: SEV-9}\n"
			"checks:\n"
			"  - {id: c, service: web, type: http, timeout: soon}\n");

	cr_assert_str_eq(got,
		"tocsin.yaml:2:3: unknown key 'lisen' in 'server'\n"
		"tocsin.yaml:5:11: bad value 'root' for 'role' (use admin, responder or observer)\n"
		"tocsin.yaml:6:16: unknown time zone 'Europe/Pariss' for 'time_zone' "
		"(use e.g. UTC, Europe/Paris)\n"
		"tocsin.yaml:7:9: duplicate user id 'alice'\n"
		"tocsin.yaml:9:34: service 'web' names unknown escalation policy 'nope'\n"
		"tocsin.yaml:9:55: bad value 'SEV-9' for 'postmortem_at' "
		"(use SEV-1, SEV-2, SEV-3, SEV-4 or SEV-5)\n"
		"tocsin.yaml:11:6: missing required key 'url' for type 'http' in 'checks'\n"
		"tocsin.yaml:11:48: bad duration 'soon' for 'timeout' "
		"(use e.g. 500ms, 30s, 15m, 4h, 1d, 1w)\n");
	free(got);
}

Test(config, missing_required_keys)
{
	bad_one("services:\n  - name: Web\n", "tocsin.yaml:2:5: missing required key 'id' in 'services'");
	bad_one("schedules:\n  - id: s\n    layers: []\n",
		"tocsin.yaml:2:5: missing required key 'time_zone' in 'schedules'");
	bad_one("services: [{id: s}]\nchecks:\n  - {id: c, service: s, type: heartbeat, key: k}\n",
		"tocsin.yaml:3:6: missing required key 'expect_every' for type 'heartbeat' in 'checks'");
	bad_one("users:\n  - id: a\n    contact_methods: [{id: h, type: webhook}]\n",
		"tocsin.yaml:3:24: missing required key 'url' for type 'webhook' in 'contact_methods'");
}

Test(config, empty_levels_and_targets)
{
	bad_one("escalation_policies:\n  - id: p\n    levels: []\n",
		"tocsin.yaml:3:5: 'levels' must not be empty");
	bad_one("escalation_policies:\n  - id: p\n    levels:\n",
		"tocsin.yaml:3:5: 'levels' must not be empty");
	bad_one("escalation_policies:\n  - id: p\n    levels: [{targets: [], escalate_after: 1m}]\n",
		"tocsin.yaml:3:15: 'targets' must not be empty");
	bad_one("escalation_policies:\n  - id: p\n    levels: [{targets: [bob], escalate_after: 1m}]\n",
		"tocsin.yaml:3:25: bad target 'bob' (use user:ID or schedule:ID)");
	bad_one(USERS "escalation_policies:\n  - id: p\n    repeat: -1\n"
		"    levels: [{targets: [user:bob], escalate_after: 0m}]\n",
		"tocsin.yaml:6:13: 'repeat' must not be negative\n"
		"tocsin.yaml:7:52: 'escalate_after' must be greater than zero");
}

Test(config, storage_is_exactly_one_backend)
{
	bad_one("storage: {sqlite: a.db, postgres: 'dbname=x'}\n",
		"tocsin.yaml:1:1: 'storage' must name exactly one of 'sqlite' or 'postgres'");
	bad_one("storage: {}\n",
		"tocsin.yaml:1:1: 'storage' must name exactly one of 'sqlite' or 'postgres'");

	struct config *c = ok("storage: {postgres: 'host=db1 dbname=tocsin'}\n");
	cr_assert_null(c->sqlite_path);
	cr_assert_str_eq(c->postgres, "host=db1 dbname=tocsin");
	config_unref(c);
}

Test(config, listen_is_host_port)
{
	bad_one("server: {listen: '8080'}\n",
		"tocsin.yaml:1:18: bad address '8080' for 'listen' "
		"(use host:port, e.g. 127.0.0.1:8080)");
	bad_one("server: {listen: 'localhost:99999'}\n",
		"tocsin.yaml:1:18: bad address 'localhost:99999' for 'listen' "
		"(use host:port, e.g. 127.0.0.1:8080)");

	struct config *c = ok("server: {listen: '[::1]:9000'}\n");
	cr_assert_str_eq(c->public_url, "http://[::1]:9000");
	config_unref(c);
}

Test(config, integration_keys_are_unique_across_services)
{
	bad_one("services:\n"
		"  - {id: a, integration_keys: [0123456789abcdef0123456789abcdef]}\n"
		"  - {id: b, integration_keys: [0123456789abcdef0123456789abcdef]}\n",
		"tocsin.yaml:3:32: duplicate integration key '0123456789abcdef0123456789abcdef'");
	bad_one("services:\n  - {id: a, integration_keys: ['my key']}\n",
		"tocsin.yaml:2:32: bad integration key 'my key' (no spaces allowed)");
	bad_one("services:\n  - {id: a, integration_keys: ['']}\n",
		"tocsin.yaml:2:32: 'integration_keys' must not be empty");
}

Test(config, schedule_values)
{
	bad_one(USERS "schedules:\n"
		"  - id: s\n"
		"    time_zone: Mars/Olympus\n"
		"    layers:\n"
		"      - {start: '2026-11-31T09:00', turn: 1y, users: [alice, dave],\n"
		"         restrict: {daily: '18:00-8', weekly: ['sat 09:00-mon 25:00']}}\n",
		"tocsin.yaml:6:16: unknown time zone 'Mars/Olympus' for 'time_zone' "
		"(use e.g. UTC, Europe/Paris)\n"
		"tocsin.yaml:8:17: bad time '2026-11-31T09:00' for 'start' "
		"(use e.g. 2026-11-02T09:00)\n"
		"tocsin.yaml:8:43: bad turn '1y' for 'turn' (use e.g. 12h, 1d, 1w, 1mo)\n"
		"tocsin.yaml:8:62: schedule 's' names unknown user 'dave'\n"
		"tocsin.yaml:9:28: bad daily window '18:00-8' (use e.g. 18:00-08:00)\n"
		"tocsin.yaml:9:48: bad weekly window 'sat 09:00-mon 25:00' "
		"(use e.g. mon 09:00-fri 17:00)");
}

Test(config, restrict_windows_in_minutes)
{
	struct config *c = ok(USERS "schedules:\n"
			      "  - id: s\n"
			      "    time_zone: America/New_York\n"
			      "    layers:\n"
			      "      - start: '2026-11-02T18:00'\n"
			      "        turn: 1mo\n"
			      "        users: [alice]\n"
			      "        restrict:\n"
			      "          daily: '18:00-08:00'\n"
			      "          weekly: ['mon 09:00-fri 17:00', 'sat 22:00-mon 06:00']\n");
	const struct layer *l = &config_schedule(c, "s")->layers[0];

	cr_assert_eq(l->turn.months, 1);
	cr_assert_eq(l->start.hour, 18);
	cr_assert_eq(l->ndaily, 1);
	cr_assert(l->daily[0].start == 18 * 60 && l->daily[0].end == 8 * 60);
	cr_assert_eq(l->nweekly, 2);
	cr_assert(l->weekly[0].start == 9 * 60 && l->weekly[0].end == 4 * 1440 + 17 * 60);
	cr_assert(l->weekly[1].start == 5 * 1440 + 22 * 60 && l->weekly[1].end == 6 * 60);
	config_unref(c);
}

Test(config, disk_thresholds)
{
	struct config *c = ok("services: [{id: s}]\n"
			      "checks:\n"
			      "  - {id: a, service: s, type: disk, path: /, min_free: 50%}\n"
			      "  - {id: b, service: s, type: disk, path: /, min_free: 10GB}\n"
			      "  - {id: c, service: s, type: disk, path: /, min_free: 500MB}\n"
			      "  - {id: d, service: s, type: disk, path: /, min_free: 4096}\n");

	cr_assert_float_eq(config_check(c, "a")->min_free_pct, 50.0, 1e-9);
	cr_assert_eq(config_check(c, "a")->min_free_bytes, -1);
	cr_assert_eq(config_check(c, "b")->min_free_bytes, 10LL << 30);
	cr_assert_eq(config_check(c, "c")->min_free_bytes, 500LL << 20);
	cr_assert_eq(config_check(c, "d")->min_free_bytes, 4096);
	cr_assert_lt(config_check(c, "d")->min_free_pct, 0);
	config_unref(c);

	bad_one("services: [{id: s}]\n"
		"checks: [{id: a, service: s, type: disk, path: /, min_free: 150%}]\n",
		"tocsin.yaml:2:61: bad value '150%' for 'min_free' (use e.g. 10%, 500MB, 10GB)");
}

Test(config, check_values)
{
	bad_one("services: [{id: s}]\n"
		"checks:\n"
		"  - {id: a, service: s, type: http, url: 'http://x/', expect_status: 700}\n"
		"  - {id: b, service: s, type: ping}\n"
		"  - {id: c, service: ghost, type: tcp, address: 'db:5432'}\n",
		"tocsin.yaml:3:70: bad status '700' for 'expect_status' (use 200, 200-299 or a list "
		"of them)\n"
		"tocsin.yaml:4:31: bad value 'ping' for 'type' "
		"(use http, tcp, process, disk, heartbeat or command)\n"
		"tocsin.yaml:5:22: check 'c' names unknown service 'ghost'");
}

Test(config, check_status_lists_and_ranges)
{
	struct config *cfg = ok(
		"services: [{id: s}]\n"
		"checks:\n"
		"  - {id: a, service: s, type: http, url: 'http://x/', expect_status: [200, '300-399']}\n");
	const struct check *a = config_check(cfg, "a");
	cr_assert_eq(a->nexpect, 2);
	cr_assert_eq(a->expect[1].lo, 300);
	cr_assert_eq(a->expect[1].hi, 399);
	config_unref(cfg);
	bad_one("services: [{id: s}]\n"
		"checks:\n"
		"  - {id: a, service: s, type: http, url: 'http://x/', body_regex: '(', depends_on: [zz]}\n"
		"  - {id: b, service: s, type: process}\n",
		"tocsin.yaml:3:67: bad regular expression '(' for 'body_regex'\n"
		"tocsin.yaml:3:85: check 'a' names unknown check 'zz'\n"
		"tocsin.yaml:4:6: a process check needs 'name' or 'pidfile'");
}

Test(config, defaults_of_an_empty_file)
{
	struct config *c = ok("");

	cr_assert_str_eq(c->listen, "127.0.0.1:8080");
	cr_assert_str_eq(c->public_url, "http://127.0.0.1:8080");
	cr_assert_str_eq(c->time_zone, "UTC");
	cr_assert_eq(c->rate_limit, 6000);
	cr_assert_str_eq(c->sqlite_path, "var/tocsin.db");
	cr_assert_null(c->postgres);
	cr_assert_eq(c->allow_private, 0);
	cr_assert_eq(c->nusers, 0);
	cr_assert_str_eq(c->path, "tocsin.yaml");
	config_unref(c);
}

Test(config, defaults_of_objects)
{
	struct config *c = ok("users: [{id: u, contact_methods: [{id: m, type: email, address: x}],"
			      " notification_rules: [{contact: m}]}]\n"
			      "services: [{id: web}]\n"
			      "checks: [{id: h, service: web, type: http, url: 'http://x/'}]\n"
			      "sms_gateway: {url: 'http://gw/'}\n"
			      "server: {public_url: 'https://tocsin.example/', rate_limit: 0}\n");
	const struct service *s = config_service(c, "web");
	const struct check *h = config_check(c, "h");
	const struct user *u = config_user(c, "u");

	cr_assert_str_eq(s->name, "web");
	cr_assert_eq(s->postmortem_at, 2);
	cr_assert_eq(s->rate_limit, -1);
	cr_assert_eq(s->urgency, URGENCY_ANY);
	cr_assert_null(s->escalation_policy);
	cr_assert_eq(h->interval, MS_PER_MIN);
	cr_assert_eq(h->timeout, 10 * MS_PER_SEC);
	cr_assert_eq(h->retries, 0);
	cr_assert_eq(h->nexpect, 1);
	cr_assert_eq(h->expect[0].lo, 200);
	cr_assert_eq(h->expect[0].hi, 200);
	cr_assert_eq(h->retry_interval, h->interval, "retries come at the interval by default");
	cr_assert(h->tls_verify, "TLS is verified unless the check says otherwise");
	cr_assert_str_eq(h->method, "GET");
	cr_assert_eq(u->role, ROLE_RESPONDER);
	cr_assert_eq(u->rules[0].after, 0);
	cr_assert_eq(u->rules[0].urgency, URGENCY_ANY);
	cr_assert_str_eq(c->sms_method, "POST");
	cr_assert_str_eq(c->public_url, "https://tocsin.example");
	cr_assert_eq(c->rate_limit, 0);
	config_unref(c);
}

static const char *example_path(void)
{
	static char path[4096];
	const char *slash = strrchr(__FILE__, '/');
	int dirlen = slash ? (int)(slash - __FILE__) : 1;

	snprintf(path, sizeof(path), "%.*s/../../examples/tocsin.yaml", dirlen,
		 slash ? __FILE__ : ".");
	return path;
}

Test(config, the_example_loads)
{
	struct strlist errs = STRLIST_INIT;
	struct config *c = config_load(example_path(), &errs);

	cr_assert_not_null(c, "%s", errs.n ? errs.v[0] : "(no message)");
	cr_assert_eq(errs.n, 0);
	cr_assert_str_eq(c->listen, "127.0.0.1:8080");
	cr_assert_str_eq(c->sqlite_path, "var/tocsin.db");
	cr_assert_str_eq(c->smtp_url, "smtp://127.0.0.1:2525");
	cr_assert_eq(c->allow_private, 1);
	cr_assert_str_eq(config_service_by_key(c, "0123456789abcdef0123456789abcdef")->id,
			 "website");
	cr_assert_str_eq(config_service_by_key(c, "fedcba9876543210fedcba9876543210")->id,
			 "database");
	cr_assert_null(config_service_by_key(c, "nope"));
	cr_assert_not_null(config_user(c, "alice"));
	cr_assert_not_null(config_user(c, "bob"));
	cr_assert_not_null(config_user(c, "carol"));
	cr_assert_eq(config_user(c, "alice")->role, ROLE_ADMIN);
	cr_assert_eq(config_team(c, "web")->members.n, 3);
	cr_assert_eq(config_policy(c, "web-default")->nlevels, 2);
	cr_assert_eq(config_policy(c, "web-default")->levels[0].escalate_after, 15 * MS_PER_MIN);
	cr_assert_eq(config_schedule(c, "web-primary")->nlayers, 2);
	cr_assert_eq(config_check(c, "self-http")->max_latency, 500);
	cr_assert_eq(config_check(c, "self-http")->kind, CHECK_HTTP);
	cr_assert_eq(config_check(c, "demo")->kind, CHECK_HEARTBEAT);
	config_unref(c);
	strlist_release(&errs);
}

Test(config, unreadable_file_is_one_error)
{
	struct strlist errs = STRLIST_INIT;

	cr_assert_null(config_load("/nonexistent/tocsin.yaml", &errs));
	cr_assert_eq(errs.n, 1);
	cr_assert_str_eq(errs.v[0], "/nonexistent/tocsin.yaml: No such file or directory");
	strlist_release(&errs);
}

Test(config, reference_counting)
{
	struct config *c = ok("users: [{id: u}]\n");

	cr_assert_eq(config_ref(c), c);
	config_unref(c);
	cr_assert_str_eq(config_user(c, "u")->id, "u", "one reference is still held");
	config_unref(c);
	config_unref(NULL);
}

Test(config, names_as_spelled_in_yaml)
{
	cr_assert_str_eq(role_name(ROLE_ADMIN), "admin");
	cr_assert_str_eq(role_name(ROLE_OBSERVER), "observer");
	cr_assert_str_eq(contact_type_name(CONTACT_WEBHOOK), "webhook");
	cr_assert_str_eq(contact_type_name(CONTACT_VOICE), "voice");
	cr_assert_str_eq(check_kind_name(CHECK_HEARTBEAT), "heartbeat");
	cr_assert_str_eq(check_kind_name(CHECK_COMMAND), "command");
}

Test(config, anchors_and_flow_style)
{
	struct config *c = ok("users:\n"
			      "  - &base {id: a, time_zone: Europe/Paris}\n"
			      "  - {<<: *base, id: b}\n");

	cr_assert_str_eq(config_user(c, "b")->time_zone, "Europe/Paris");
	config_unref(c);
}
