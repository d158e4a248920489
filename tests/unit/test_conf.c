/* Configuration parsing: a good file, each kind of error, and environment overrides. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"

static char path[64];

static const char good[] =
    "# a comment\n"
    "listen = 127.0.0.1:9100\n"
    "workers = 4   # trailing comment\n"
    "database_url = \"host=/tmp dbname=trestle\"\n"
    "tenant_id = t1\n"
    "tenant_secret = 0123456789abcdef0123\n"
    "jwt_secret = jjjjjjjjjjjjjjjjjjjjjjj\n"
    "dev_mode = off\n";

static int
load(const char *text, struct conf *cf, struct conf_errors *errs)
{
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
	return conf_load(cf, path, errs);
}

/* The error text on one line, so that it fits a TAP description. */
static const char *
oneline(struct conf_errors *errs)
{
	for (char *p = errs->text; *p != '\0'; p++)
		if (*p == '\n')
			*p = '|';
	return errs->text;
}

static int
contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static void
test_good(void)
{
	struct conf cf;
	struct conf_errors errs;

	ok(load(good, &cf, &errs) == 0, "a good file loads");
	is_str(cf.listen, "127.0.0.1:9100", "listen is read");
	ok(cf.workers == 4, "workers is read");
	is_str(cf.database_url, "host=/tmp dbname=trestle", "a quoted value keeps its spaces");
	ok(cf.db_pool_size == 8, "an absent key has its default");
	conf_free(&cf);
}

/* Loading text fails, and the error text contains every needle. */
static void
expect_error(const char *text, const char *needle1, const char *needle2, const char *what)
{
	struct conf cf;
	struct conf_errors errs;
	int rc = load(text, &cf, &errs);

	ok(rc == -1 && contains(errs.text, needle1) && (needle2 == NULL || contains(errs.text, needle2)),
	    "%s: %s", what, oneline(&errs));
	conf_free(&cf);
}

static void
test_errors(void)
{
	char text[2048];

	snprintf(text, sizeof(text), "%sbogus_key = 1\n", good);
	expect_error(text, ":9: unknown key 'bogus_key'", NULL, "an unknown key is named with its line");
	snprintf(text, sizeof(text), "%sworkers = 0\n", good);
	expect_error(text, ":9: workers: bad value '0'", "from 1 to 64", "an out-of-range value names the range");
	snprintf(text, sizeof(text), "%sdev_mode = maybe\n", good);
	expect_error(text, "dev_mode: bad value 'maybe'", NULL, "a bad boolean is named");
	snprintf(text, sizeof(text), "%sjust words\n", good);
	expect_error(text, ":9: expected 'key = value'", NULL, "a line without '=' is refused");
	snprintf(text, sizeof(text), "%sdatabase_url = \"unterminated\n", good);
	expect_error(text, ":9: database_url: unterminated quoted value", NULL, "an open quote is refused");
	expect_error("listen = 127.0.0.1:1\n", "tenant_secret: required", "tenant_id: required",
	    "missing secrets are named");
	snprintf(text, sizeof(text), "%sjwt_secret = " CONF_PLACEHOLDER_SECRET "\n", good);
	expect_error(text, "jwt_secret", NULL, "the placeholder JWT secret is fatal outside dev_mode");
}

/* Every kind of value a key refuses, with what it allows named. */
static void
test_ranges(void)
{
	static const struct {
		const char	*line, *needle1, *needle2;
	} bad[] = {
		{ "mcp_rate_limit_per_minute = -1", "mcp_rate_limit_per_minute: bad value '-1'",
		    "from 0 to 600000" },
		{ "mcp_rate_limit_burst = 0", "mcp_rate_limit_burst: bad value '0'", "from 1 to 100000" },
		{ "mcp_max_connections = 0", "mcp_max_connections: bad value '0'", "from 1 to 1000000" },
		{ "mcp_max_connections_per_ip = 2000000", "mcp_max_connections_per_ip", "from 0 to 1000000" },
		{ "mcp_breaker_failures = 1001", "mcp_breaker_failures", "from 0 to 1000" },
		{ "mcp_breaker_cooldown_sec = 0", "mcp_breaker_cooldown_sec", "from 1 to 3600" },
		{ "api_rate_limit_per_minute = 10x", "api_rate_limit_per_minute: bad value '10x'",
		    "from 0 to 600000" },
		{ "api_rate_limit_burst = 999999999999", "api_rate_limit_burst", "from 1 to 100000" },
		{ "max_body_bytes = 1023", "max_body_bytes", "from 1024 to 67108864" },
		{ "listen = 127.0.0.1", "listen: bad value '127.0.0.1'", "port from 1 to 65535" },
		{ "listen = 127.0.0.1:0", "listen: bad value", "port from 1 to 65535" },
		{ "listen = 127.0.0.1:65536", "listen: bad value", "port from 1 to 65535" },
		{ "listen = ::1:8001", "listen: bad value", "IPv6 address in brackets" },
		{ "listen = :8001", "listen: bad value", "host:port" },
		{ "listen = \"a b:80\"", "listen: bad value", "host:port" },
		{ "api_listen = [::1]:http", "api_listen: bad value", "port from 1 to 65535" },
		{ "runtime_dir = run/trestle", "runtime_dir: bad value 'run/trestle'", "absolute path" },
		{ "runtime_dir = /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    "runtime_dir: too long", "at most 80 bytes" },
		{ "state_dir = var/lib", "state_dir: bad value 'var/lib'", "absolute path" },
		{ "control_socket = ctl.sock", "control_socket: bad value", "absolute path" },
		{ "mcp_path = mcp", "mcp_path: bad value 'mcp'", "start with '/'" },
		{ "mcp_path = /mcp?x", "mcp_path: bad value", "no '?', '#' or spaces" },
		{ "mcp_allowed_hosts = \" , \"", "mcp_allowed_hosts: empty", "at least one" },
		{ "mcp_allowed_origins = \"\"", "mcp_allowed_origins: empty", "at least one" },
		{ "tenant_id = \"acme corp\"", "tenant_id: bad value 'acme corp'", "letters, digits" },
		{ "tenant_id = a:b", "tenant_id: bad value", "'.', '_' or '-'" },
		{ "mcp_authorization_servers = ftp://auth", "mcp_authorization_servers: bad value",
		    "https:// or http:// URLs" },
		{ "jwks_url = ldap://x", "jwks_url: bad value", "https://, http:// or file://" },
		{ "log_level = verbose", "log_level: bad value 'verbose'", "debug, info, warn, error" },
		{ "dev_mode = sometimes", "dev_mode: bad value 'sometimes'", "on or off" },
	};
	char text[2048];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s\n", good, bad[i].line);
		expect_error(text, bad[i].needle1, bad[i].needle2, bad[i].line);
	}
	snprintf(text, sizeof(text), "%slisten = [::1]:8001\napi_listen = localhost:1\n"
	    "mcp_rate_limit_per_minute = 0\nmcp_max_connections_per_ip = 0\n"
	    "mcp_authorization_servers = \"https://a.example, http://b.example\"\n"
	    "tenant_id = Tenant_1.prod-eu\n", good);
	{
		struct conf cf;
		struct conf_errors errs;

		ok(load(text, &cf, &errs) == 0, "the edges of the ranges are accepted: %s",
		    oneline(&errs));
		ok(cf.mcp_rate_limit_per_minute == 0 && cf.mcp_rate_limit_burst == 120 &&
		    cf.api_rate_limit_per_minute == 600 && cf.api_rate_limit_burst == 120,
		    "the rate limits: 0 (off) as set, the others by default");
		conf_free(&cf);
	}
}

static void
test_environment(void)
{
	struct conf cf;
	struct conf_errors errs;

	setenv("TRESTLE_WORKERS", "7", 1);
	ok(load(good, &cf, &errs) == 0 && cf.workers == 7, "TRESTLE_WORKERS overrides the file");
	conf_free(&cf);
	setenv("TRESTLE_WORKERS", "many", 1);
	expect_error(good, "TRESTLE_WORKERS: workers: bad value 'many'", NULL,
	    "a bad environment value names the variable");
	unsetenv("TRESTLE_WORKERS");
	setenv("TRESTLE_TENANT_SECRET", "from-the-environment-0123", 1);
	ok(load("tenant_id = t\ndatabase_url = x\njwt_secret = yyyyyyyyyyyyyyyyyyyy\n", &cf, &errs) == 0,
	    "a secret from the environment satisfies the requirement");
	is_str(cf.tenant_secret, "from-the-environment-0123", "the secret is the environment's");
	conf_free(&cf);
	unsetenv("TRESTLE_TENANT_SECRET");
}

/* DATABASE_URL (containers) fills database_url only when nothing else set it. */
static void
test_database_url(void)
{
	static const char nodb[] = "tenant_id = t\ntenant_secret = 0123456789abcdef0123\n"
	    "jwt_secret = jjjjjjjjjjjjjjjjjjjjjjj\n";
	struct conf cf;
	struct conf_errors errs;

	unsetenv("DATABASE_URL");
	expect_error(nodb, "database_url: required", NULL, "no database_url anywhere is refused");
	setenv("DATABASE_URL", "host=/from/env dbname=x", 1);
	ok(load(nodb, &cf, &errs) == 0, "DATABASE_URL supplies a missing database_url");
	is_str(cf.database_url, "host=/from/env dbname=x", "database_url is DATABASE_URL's");
	conf_free(&cf);
	ok(load(good, &cf, &errs) == 0, "a file with database_url and DATABASE_URL loads");
	is_str(cf.database_url, "host=/tmp dbname=trestle", "the file's database_url wins over DATABASE_URL");
	conf_free(&cf);
	setenv("TRESTLE_DATABASE_URL", "host=/trestle dbname=y", 1);
	ok(load(nodb, &cf, &errs) == 0, "TRESTLE_DATABASE_URL and DATABASE_URL load");
	is_str(cf.database_url, "host=/trestle dbname=y", "TRESTLE_DATABASE_URL wins over DATABASE_URL");
	conf_free(&cf);
	unsetenv("TRESTLE_DATABASE_URL");
	unsetenv("DATABASE_URL");
}

int
main(void)
{
	snprintf(path, sizeof(path), "/tmp/trestle-test-conf.%ld", (long)getpid());
	test_good();
	test_errors();
	test_ranges();
	test_environment();
	test_database_url();
	unlink(path);
	return done_testing();
}
