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
	char	*api_keys_file;		/* static bearer keys: "<sha256 hex> <subject>" lines */
	int	 api_timeout_ms;
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

#endif
