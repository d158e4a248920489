/*
 * The configuration: one table of keys (conf.c) drives the file parser, the
 * environment overrides (TRESTLE_<KEY>), the defaults and the range checks, so
 * they cannot disagree.
 */
#ifndef TRESTLE_CONF_H
#define TRESTLE_CONF_H

#include <stddef.h>

#define CONF_EXIT_INVALID	78	/* EX_CONFIG: systemd is told not to restart on it */
#define CONF_PLACEHOLDER_SECRET	"dev-secret-change-in-production"

struct conf {
	char	*listen;		/* host:port of the MCP listener */
	int	 workers;
	char	*runtime_dir;		/* sockets: api.sock, control.sock */
	char	*mcp_path;
	int	 max_body_bytes;
	char	*state_dir;		/* what must outlive restarts: sessions ended by DELETE */
	char	*mcp_allowed_hosts;	/* Host header allow-list (DNS rebinding) */
	char	*mcp_allowed_origins;	/* Origin header allow-list */
	int	 mcp_http_timeout_sec;	/* idle/read/write timeout of a client connection */
	int	 mcp_max_streams;	/* open SSE streams per worker */
	int	 mcp_conformance_fixtures;	/* serve the conformance suite's fixtures (tests only) */
	int	 mcp_rate_limit_per_minute;	/* per user, over every worker; 0: off */
	int	 mcp_rate_limit_burst;
	int	 mcp_max_connections;	/* open client connections per worker */
	int	 mcp_max_connections_per_ip;	/* the same from one address; 0: no such limit */
	int	 mcp_breaker_failures;	/* API child failures in a row that open the breaker; 0: off */
	int	 mcp_breaker_cooldown_sec;	/* how long it stays open before a probe */
	char	*api_keys_file;		/* static bearer keys: "<sha256 hex> <subject>" lines */
	char	*mcp_resource_url;	/* canonical URL of the MCP endpoint; "": from Host */
	char	*mcp_jwt_secret;	/* HS256 client tokens; "": refused */
	char	*mcp_jwks_url;		/* RS256/ES256 client tokens; "": refused */
	char	*mcp_jwt_issuer;	/* iss of client tokens */
	int	 mcp_jwt_leeway_sec;	/* clock skew allowed on exp and nbf */
	char	*mcp_authorization_servers;	/* for the metadata; "": mcp_jwt_issuer */
	char	*mcp_required_scopes;	/* space-separated; "": none */
	char	*mcp_allowed_email_domains;	/* comma-separated; "": any */
	char	*audit_log_file;	/* "": the main log */
	int	 api_timeout_ms;
	int	 api_rate_limit_per_minute;	/* the API child's per-user limit; 0: off */
	int	 api_rate_limit_burst;
	char	*database_url;
	int	 db_pool_size;
	int	 db_statement_timeout_ms;
	char	*tenant_id;
	char	*tenant_secret;
	char	*jwt_secret;
	char	*jwt_issuer;		/* "": iss not checked */
	char	*jwt_audience;		/* "": aud not checked */
	char	*jwks_url;		/* RS256 keys; "": RS256 tokens refused */
	char	*api_listen;		/* host:port of the API child's TCP listener; "": none */
	int	 api_tcp_require_tenant;
	char	*api_upstream_url;	/* proxy mode: forward to this Go API instead of PostgreSQL */
	char	*api_upstream_tenant_secret;
	int	 dev_mode;
	char	*log_file;
	char	*log_level;
	char	*access_log_file;	/* "": access lines go to the main log */
	int	 log_max_bytes;		/* the master rotates a log file past this size; 0: never */
	int	 log_keep;		/* rotated files kept: file.1 .. file.N */
	char	*control_socket;	/* "": <runtime_dir>/control.sock */
	int	 shutdown_timeout_sec;	/* graceful shutdown and drain bound */
	int	 heartbeat_timeout_sec;	/* a child silent this long is killed and restarted */
};

struct conf_errors {
	int	 count;
	char	 text[4096];		/* one error a line */
};

/* Load from path (NULL: environment only) then TRESTLE_* variables; 0 if valid. */
int	conf_load(struct conf *, const char *path, struct conf_errors *);
void	conf_free(struct conf *);

/* For documentation checks: the nth key name, NULL past the end. */
const char *conf_key_name(size_t n);
/* 1 when the nth key has the same value in both (n below the number of keys). */
int	conf_key_equal(const struct conf *, const struct conf *, size_t n);
/*
 * Parse like conf_load but do not validate, and keep what could be read even
 * when some lines are bad (-1 then): for a tool that only needs a path from a
 * configuration that may be invalid.  conf_free it in either case.
 */
int	conf_load_partial(struct conf *, const char *path, struct conf_errors *);

#endif
