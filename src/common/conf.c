#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

enum conf_type { CONF_STRING, CONF_INT, CONF_BOOL };

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 offset;
	const char	*default_value;
	long		 min, max;	/* CONF_INT only */
};

#define S(field) CONF_STRING, offsetof(struct conf, field)
#define I(field) CONF_INT, offsetof(struct conf, field)
#define B(field) CONF_BOOL, offsetof(struct conf, field)

static const struct conf_key conf_keys[] = {
	{ "listen",			S(listen),		"127.0.0.1:8001", 0, 0 },
	{ "workers",			I(workers),		"2", 1, 64 },
	{ "runtime_dir",		S(runtime_dir),		"/run/trestle", 0, 0 },
	{ "mcp_path",			S(mcp_path),		"/mcp", 0, 0 },
	{ "max_body_bytes",		I(max_body_bytes),	"1048576", 1024, 67108864 },
	{ "state_dir",			S(state_dir),		"/var/lib/trestle", 0, 0 },
	{ "mcp_allowed_hosts",		S(mcp_allowed_hosts),	"localhost,127.0.0.1,[::1]", 0, 0 },
	{ "mcp_allowed_origins",	S(mcp_allowed_origins),	"localhost,127.0.0.1,[::1]", 0, 0 },
	{ "mcp_http_timeout_sec",	I(mcp_http_timeout_sec), "30", 1, 3600 },
	{ "mcp_max_streams",		I(mcp_max_streams),	"1000", 1, 1000000 },
	{ "mcp_conformance_fixtures",	B(mcp_conformance_fixtures), "off", 0, 0 },
	{ "mcp_rate_limit_per_minute",	I(mcp_rate_limit_per_minute), "600", 0, 600000 },
	{ "mcp_rate_limit_burst",	I(mcp_rate_limit_burst), "120", 1, 100000 },
	{ "mcp_max_connections",	I(mcp_max_connections),	"4096", 1, 1000000 },
	{ "mcp_max_connections_per_ip",	I(mcp_max_connections_per_ip), "1024", 0, 1000000 },
	{ "mcp_breaker_failures",	I(mcp_breaker_failures), "5", 0, 1000 },
	{ "mcp_breaker_cooldown_sec",	I(mcp_breaker_cooldown_sec), "5", 1, 3600 },
	{ "api_keys_file",		S(api_keys_file),	"", 0, 0 },
	{ "mcp_resource_url",		S(mcp_resource_url),	"", 0, 0 },
	{ "mcp_jwt_secret",		S(mcp_jwt_secret),	"", 0, 0 },
	{ "mcp_jwks_url",		S(mcp_jwks_url),	"", 0, 0 },
	{ "mcp_jwt_issuer",		S(mcp_jwt_issuer),	"", 0, 0 },
	{ "mcp_jwt_leeway_sec",		I(mcp_jwt_leeway_sec),	"60", 0, 300 },
	{ "mcp_authorization_servers",	S(mcp_authorization_servers), "", 0, 0 },
	{ "mcp_required_scopes",	S(mcp_required_scopes),	"", 0, 0 },
	{ "mcp_allowed_email_domains",	S(mcp_allowed_email_domains), "", 0, 0 },
	{ "audit_log_file",		S(audit_log_file),	"", 0, 0 },
	{ "api_timeout_ms",		I(api_timeout_ms),	"10000", 100, 600000 },
	{ "api_rate_limit_per_minute",	I(api_rate_limit_per_minute), "600", 0, 600000 },
	{ "api_rate_limit_burst",	I(api_rate_limit_burst), "120", 1, 100000 },
	{ "database_url",		S(database_url),	"", 0, 0 },
	{ "db_pool_size",		I(db_pool_size),	"8", 1, 1000 },
	{ "db_statement_timeout_ms",	I(db_statement_timeout_ms), "5000", 0, 3600000 },
	{ "tenant_id",			S(tenant_id),		"", 0, 0 },
	{ "tenant_secret",		S(tenant_secret),	"", 0, 0 },
	{ "jwt_secret",			S(jwt_secret),		"", 0, 0 },
	{ "jwt_issuer",			S(jwt_issuer),		"", 0, 0 },
	{ "jwt_audience",		S(jwt_audience),	"", 0, 0 },
	{ "jwks_url",			S(jwks_url),		"", 0, 0 },
	{ "api_listen",			S(api_listen),		"", 0, 0 },
	{ "api_tcp_require_tenant",	B(api_tcp_require_tenant), "on", 0, 0 },
	{ "api_upstream_url",		S(api_upstream_url),	"", 0, 0 },
	{ "api_upstream_tenant_secret",	S(api_upstream_tenant_secret), "", 0, 0 },
	{ "dev_mode",			B(dev_mode),		"off", 0, 0 },
	{ "log_file",			S(log_file),		"", 0, 0 },
	{ "log_level",			S(log_level),		"info", 0, 0 },
	{ "access_log_file",		S(access_log_file),	"", 0, 0 },
	{ "log_max_bytes",		I(log_max_bytes),	"0", 0, 2147483647 },
	{ "log_keep",			I(log_keep),		"5", 1, 1000 },
	{ "control_socket",		S(control_socket),	"", 0, 0 },
	{ "shutdown_timeout_sec",	I(shutdown_timeout_sec), "10", 1, 3600 },
	{ "heartbeat_timeout_sec",	I(heartbeat_timeout_sec), "10", 2, 3600 },
};

#define CONF_NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

const char *
conf_key_name(size_t n)
{
	return n < CONF_NKEYS ? conf_keys[n].name : NULL;
}

static void conf_error(struct conf_errors *, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
conf_error(struct conf_errors *errs, const char *fmt, ...)
{
	size_t used = strlen(errs->text);
	va_list ap;

	errs->count++;
	if (used + 2 >= sizeof(errs->text))
		return;
	va_start(ap, fmt);
	vsnprintf(errs->text + used, sizeof(errs->text) - used - 1, fmt, ap);
	va_end(ap);
	strcat(errs->text, "\n");
}

static const struct conf_key *
conf_key_find(const char *name)
{
	for (size_t i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

static int
conf_parse_bool(const char *text, int *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(text, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(text, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

/* Store value into the field of key; where names the origin for the error text. */
static void
conf_set(struct conf *cf, const struct conf_key *key, const char *value,
    const char *where, struct conf_errors *errs)
{
	char *field = (char *)cf + key->offset;
	char *end;
	long n;
	int b;

	switch (key->type) {
	case CONF_STRING:
		free(*(char **)field);
		*(char **)field = strdup(value);
		break;
	case CONF_INT:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || n < key->min || n > key->max) {
			conf_error(errs, "%s: %s: bad value '%s': must be an integer from %ld to %ld",
			    where, key->name, value, key->min, key->max);
			return;
		}
		*(int *)field = (int)n;
		break;
	case CONF_BOOL:
		if (conf_parse_bool(value, &b) == -1) {
			conf_error(errs, "%s: %s: bad value '%s': must be on or off",
			    where, key->name, value);
			return;
		}
		*(int *)field = b;
		break;
	}
}

static char *
conf_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* A value may be wrapped in double quotes to keep spaces or a '#'. */
static int
conf_unquote(char **value)
{
	char *v = *value;
	size_t len = strlen(v);

	if (v[0] != '"')
		return 0;
	if (len < 2 || v[len - 1] != '"')
		return -1;
	v[len - 1] = '\0';
	*value = v + 1;
	return 0;
}

static void
conf_parse_line(struct conf *cf, char *line, const char *where, struct conf_errors *errs)
{
	char *eq, *name, *value, *hash;
	const struct conf_key *key;

	if (line[0] != '"' && (hash = strstr(line, " #")) != NULL)
		*hash = '\0';
	line = conf_trim(line);
	if (line[0] == '\0' || line[0] == '#')
		return;
	if ((eq = strchr(line, '=')) == NULL) {
		conf_error(errs, "%s: expected 'key = value'", where);
		return;
	}
	*eq = '\0';
	name = conf_trim(line);
	value = conf_trim(eq + 1);
	if ((key = conf_key_find(name)) == NULL) {
		conf_error(errs, "%s: unknown key '%s'", where, name);
		return;
	}
	if (conf_unquote(&value) == -1) {
		conf_error(errs, "%s: %s: unterminated quoted value", where, name);
		return;
	}
	conf_set(cf, key, value, where, errs);
}

static int
conf_parse_file(struct conf *cf, const char *path, struct conf_errors *errs)
{
	char line[8192], where[4200];
	FILE *fp;
	int lineno = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		conf_error(errs, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			conf_error(errs, "%s: line too long", where);
			break;
		}
		conf_parse_line(cf, line, where, errs);
	}
	fclose(fp);
	return 0;
}

static void
conf_apply_environment(struct conf *cf, struct conf_errors *errs)
{
	char var[128];
	const char *value;

	for (size_t i = 0; i < CONF_NKEYS; i++) {
		size_t j = 0;

		j = (size_t)snprintf(var, sizeof(var), "TRESTLE_");
		for (const char *p = conf_keys[i].name; *p != '\0' && j + 1 < sizeof(var); p++)
			var[j++] = (char)toupper((unsigned char)*p);
		var[j] = '\0';
		if ((value = getenv(var)) != NULL)
			conf_set(cf, &conf_keys[i], value, var, errs);
	}
	/*
	 * Container platforms hand out the database as DATABASE_URL.  It fills
	 * database_url only when neither the file nor TRESTLE_DATABASE_URL set it,
	 * so a developer's unrelated DATABASE_URL cannot redirect a configured daemon.
	 */
	if ((cf->database_url == NULL || cf->database_url[0] == '\0') &&
	    (value = getenv("DATABASE_URL")) != NULL && value[0] != '\0')
		conf_set(cf, conf_key_find("database_url"), value, "DATABASE_URL", errs);
}

static int
conf_is_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

static int
conf_has_scheme(const char *url, const char *const *schemes)
{
	for (; *schemes != NULL; schemes++)
		if (strncmp(url, *schemes, strlen(*schemes)) == 0 && url[strlen(*schemes)] != '\0')
			return 1;
	return 0;
}

#define CONF_HOST_PORT_RULE \
	"expected host:port (an IPv6 address in brackets) with a port from 1 to 65535"
#define CONF_SOCKET_DIR_MAX	80	/* runtime_dir + "/mcp-63.4294967295.sock" fits sun_path */
#define CONF_SOCKET_PATH_MAX	107	/* sun_path less its terminating NUL */
#define CONF_TENANT_ID_MAX	128

/* "host:port" or "[v6]:port": a host without spaces and a port from 1 to 65535. */
static int
conf_is_host_port(const char *s)
{
	const char *colon = strrchr(s, ':');
	size_t hostlen = colon != NULL ? (size_t)(colon - s) : 0;
	char *end;
	long port;

	if (hostlen == 0 || strcspn(s, " \t") < hostlen || colon[1] == '\0')
		return 0;
	if (s[0] == '[' ? s[hostlen - 1] != ']' || hostlen < 3 : memchr(s, ':', hostlen) != NULL)
		return 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	return errno == 0 && *end == '\0' && isdigit((unsigned char)colon[1]) &&
	    port >= 1 && port <= 65535;
}

/* A comma- or space-separated list that names at least one entry. */
static int
conf_is_nonempty_list(const char *s)
{
	return s[strspn(s, ", \t")] != '\0';
}

/* Every entry of a comma- or space-separated list is a URL of one of schemes. */
static int
conf_is_url_list(const char *s, const char *const *schemes)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int good = copy != NULL;

	for (tok = good ? strtok_r(copy, ", \t", &save) : NULL; tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save))
		if (!conf_has_scheme(tok, schemes))
			good = 0;
	free(copy);
	return good;
}

/* Letters, digits, '.', '_' and '-': it travels in HTTP headers and signed strings. */
static int
conf_is_tenant_id(const char *s)
{
	size_t len = strlen(s);

	return len <= CONF_TENANT_ID_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

/* Directories and sockets: absolute paths, short enough for a Unix socket address. */
static void
conf_validate_paths(const struct conf *cf, struct conf_errors *errs)
{
	if (cf->runtime_dir[0] != '/')
		conf_error(errs, "runtime_dir: bad value '%s': must be an absolute path",
		    cf->runtime_dir);
	else if (strlen(cf->runtime_dir) > CONF_SOCKET_DIR_MAX)
		conf_error(errs, "runtime_dir: too long: at most %d bytes, so that the paths of "
		    "its Unix sockets fit", CONF_SOCKET_DIR_MAX);
	if (cf->state_dir[0] != '/')
		conf_error(errs, "state_dir: bad value '%s': must be an absolute path",
		    cf->state_dir);
	if (!conf_is_empty(cf->control_socket) && cf->control_socket[0] != '/')
		conf_error(errs, "control_socket: bad value '%s': must be an absolute path, or "
		    "empty for <runtime_dir>/control.sock", cf->control_socket);
	else if (strlen(cf->control_socket) > CONF_SOCKET_PATH_MAX)
		conf_error(errs, "control_socket: too long: at most %d bytes (a Unix socket "
		    "address)", CONF_SOCKET_PATH_MAX);
}

/* The MCP transport: its path and the Host and Origin allow-lists. */
static void
conf_validate_mcp(const struct conf *cf, struct conf_errors *errs)
{
	if (cf->mcp_path[0] != '/' || strpbrk(cf->mcp_path, "?# \t") != NULL)
		conf_error(errs, "mcp_path: bad value '%s': must start with '/' and contain no "
		    "'?', '#' or spaces", cf->mcp_path);
	if (!conf_is_host_port(cf->listen))
		conf_error(errs, "listen: bad value '%s': " CONF_HOST_PORT_RULE, cf->listen);
	if (!conf_is_nonempty_list(cf->mcp_allowed_hosts))
		conf_error(errs, "mcp_allowed_hosts: empty: list at least one host name, or \"*\"");
	if (!conf_is_nonempty_list(cf->mcp_allowed_origins))
		conf_error(errs, "mcp_allowed_origins: empty: list at least one host name or "
		    "origin, or \"*\"");
}

/* The API child's own keys: its TCP listener, JWKS and proxy mode. */
static void
conf_validate_api(const struct conf *cf, struct conf_errors *errs)
{
	static const char *const jwks_schemes[] = { "https://", "http://", "file://", NULL };
	static const char *const upstream_schemes[] = { "https://", "http://", NULL };

	if (!conf_is_empty(cf->api_listen) && !conf_is_host_port(cf->api_listen))
		conf_error(errs, "api_listen: bad value '%s': " CONF_HOST_PORT_RULE, cf->api_listen);
	if (!conf_is_empty(cf->jwks_url) && !conf_has_scheme(cf->jwks_url, jwks_schemes))
		conf_error(errs, "jwks_url: bad value '%s': expected an https://, http:// or "
		    "file:// URL", cf->jwks_url);
	if (conf_is_empty(cf->api_upstream_url))
		return;
	if (!conf_has_scheme(cf->api_upstream_url, upstream_schemes) ||
	    cf->api_upstream_url[strlen(cf->api_upstream_url) - 1] == '/')
		conf_error(errs, "api_upstream_url: bad value '%s': expected an http:// or "
		    "https:// URL without a trailing '/'", cf->api_upstream_url);
	if (conf_is_empty(cf->api_upstream_tenant_secret) ||
	    strlen(cf->api_upstream_tenant_secret) < 16)
		conf_error(errs, "api_upstream_tenant_secret: required with api_upstream_url, "
		    "at least 16 characters");
}

/* The host of "host:port" ("[::1]:8001" too) is a loopback address or localhost. */
static int
conf_is_loopback(const char *listen)
{
	const char *colon = strrchr(listen, ':');
	size_t len = colon != NULL ? (size_t)(colon - listen) : strlen(listen);

	if ((len == 9 && strncmp(listen, "localhost", 9) == 0) ||
	    (len == 5 && strncmp(listen, "[::1]", 5) == 0))
		return 1;
	return len > 4 && strncmp(listen, "127.", 4) == 0 &&
	    strspn(listen, "0123456789.") == len;
}

/* The MCP workers' client authentication (OAuth resource server) and audit. */
static void
conf_validate_mcp_auth(const struct conf *cf, struct conf_errors *errs)
{
	static const char *const jwks_schemes[] = { "https://", "http://", "file://", NULL };
	static const char *const url_schemes[] = { "https://", "http://", NULL };
	int jwt = !conf_is_empty(cf->mcp_jwt_secret) || !conf_is_empty(cf->mcp_jwks_url);

	if (!conf_is_empty(cf->mcp_resource_url) &&
	    !conf_has_scheme(cf->mcp_resource_url, url_schemes))
		conf_error(errs, "mcp_resource_url: bad value '%s': expected an https:// or "
		    "http:// URL", cf->mcp_resource_url);
	if (!conf_is_empty(cf->mcp_authorization_servers) &&
	    !conf_is_url_list(cf->mcp_authorization_servers, url_schemes))
		conf_error(errs, "mcp_authorization_servers: bad value '%s': expected https:// or "
		    "http:// URLs, separated by commas or spaces", cf->mcp_authorization_servers);
	if (!conf_is_empty(cf->mcp_jwks_url) && !conf_has_scheme(cf->mcp_jwks_url, jwks_schemes))
		conf_error(errs, "mcp_jwks_url: bad value '%s': expected an https://, http:// or "
		    "file:// URL", cf->mcp_jwks_url);
	if (!conf_is_empty(cf->mcp_jwt_secret) && strlen(cf->mcp_jwt_secret) < 32)
		conf_error(errs, "mcp_jwt_secret: too short: use at least 32 characters");
	if (jwt && conf_is_empty(cf->mcp_jwt_issuer))
		conf_error(errs, "mcp_jwt_issuer: required with mcp_jwt_secret or mcp_jwks_url");
	if (jwt && conf_is_empty(cf->mcp_resource_url))
		conf_error(errs, "mcp_resource_url: required with mcp_jwt_secret or mcp_jwks_url "
		    "(client tokens must name it as their audience)");
	if (cf->dev_mode && !conf_is_loopback(cf->listen))
		conf_error(errs, "dev_mode: refused with listen = %s: development mode serves "
		    "loopback addresses only (127.0.0.1, [::1], localhost)", cf->listen);
	if (cf->dev_mode && !conf_is_empty(cf->api_listen) && !conf_is_loopback(cf->api_listen))
		conf_error(errs, "dev_mode: refused with api_listen = %s: development mode serves "
		    "loopback addresses only", cf->api_listen);
}

static void
conf_validate(const struct conf *cf, struct conf_errors *errs)
{
	if (conf_is_empty(cf->tenant_id))
		conf_error(errs, "tenant_id: required (set it in the file or TRESTLE_TENANT_ID)");
	else if (!conf_is_tenant_id(cf->tenant_id))
		conf_error(errs, "tenant_id: bad value '%s': at most %d letters, digits, '.', '_' "
		    "or '-'", cf->tenant_id, CONF_TENANT_ID_MAX);
	if (conf_is_empty(cf->tenant_secret))
		conf_error(errs, "tenant_secret: required (set it in the file or TRESTLE_TENANT_SECRET)");
	else if (strlen(cf->tenant_secret) < 16)
		conf_error(errs, "tenant_secret: too short: use at least 16 characters");
	if (conf_is_empty(cf->database_url) && conf_is_empty(cf->api_upstream_url))
		conf_error(errs, "database_url: required, e.g. \"host=/var/run/postgresql dbname=trestle\"");
	if (!cf->dev_mode && (conf_is_empty(cf->jwt_secret) ||
	    strcmp(cf->jwt_secret, CONF_PLACEHOLDER_SECRET) == 0))
		conf_error(errs, "jwt_secret: required outside dev_mode, and not the placeholder");
	if (conf_is_empty(cf->jwt_secret) && cf->dev_mode)
		conf_error(errs, "jwt_secret: required (the workers sign their backend tokens with it)");
	conf_validate_paths(cf, errs);
	conf_validate_mcp(cf, errs);
	conf_validate_api(cf, errs);
	conf_validate_mcp_auth(cf, errs);
	if (strcmp(cf->log_level, "debug") && strcmp(cf->log_level, "info") &&
	    strcmp(cf->log_level, "warn") && strcmp(cf->log_level, "error"))
		conf_error(errs, "log_level: bad value '%s': one of debug, info, warn, error",
		    cf->log_level);
}

int
conf_load(struct conf *cf, const char *path, struct conf_errors *errs)
{
	memset(cf, 0, sizeof(*cf));
	errs->count = 0;
	errs->text[0] = '\0';
	for (size_t i = 0; i < CONF_NKEYS; i++)
		conf_set(cf, &conf_keys[i], conf_keys[i].default_value, "default", errs);
	if (path == NULL || conf_parse_file(cf, path, errs) == 0)
		conf_apply_environment(cf, errs);
	if (errs->count == 0)
		conf_validate(cf, errs);
	if (errs->count == 0)
		return 0;
	conf_free(cf);		/* nothing half-loaded is left for the caller to free */
	return -1;
}

int
conf_load_partial(struct conf *cf, const char *path, struct conf_errors *errs)
{
	memset(cf, 0, sizeof(*cf));
	errs->count = 0;
	errs->text[0] = '\0';
	for (size_t i = 0; i < CONF_NKEYS; i++)
		conf_set(cf, &conf_keys[i], conf_keys[i].default_value, "default", errs);
	if (path == NULL || conf_parse_file(cf, path, errs) == 0)
		conf_apply_environment(cf, errs);
	return errs->count == 0 ? 0 : -1;
}

int
conf_key_equal(const struct conf *a, const struct conf *b, size_t n)
{
	const struct conf_key *key = &conf_keys[n];
	const char *fa = (const char *)a + key->offset, *fb = (const char *)b + key->offset;

	if (key->type != CONF_STRING)
		return *(const int *)fa == *(const int *)fb;
	return strcmp(*(char *const *)fa, *(char *const *)fb) == 0;
}

void
conf_free(struct conf *cf)
{
	for (size_t i = 0; i < CONF_NKEYS; i++)
		if (conf_keys[i].type == CONF_STRING)
			free(*(char **)((char *)cf + conf_keys[i].offset));
	memset(cf, 0, sizeof(*cf));
}
