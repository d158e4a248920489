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
	char	*api_keys_file;		/* static bearer keys: "<sha256 hex> <subject>" lines */
	int	 api_timeout_ms;
	char	*database_url;
	int	 db_pool_size;
	int	 db_statement_timeout_ms;
	char	*tenant_id;
	char	*tenant_secret;
	char	*jwt_secret;
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
