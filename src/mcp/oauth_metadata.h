/*
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) of the MCP endpoint:
 * GET /.well-known/oauth-protected-resource and the same followed by the
 * endpoint's path, without a token.  It names the resource (the canonical MCP
 * URL, the audience of client tokens), the authorization servers that issue
 * tokens for it and the scopes it requires.  401 answers point clients to it.
 */
#ifndef TRESTLE_OAUTH_METADATA_H
#define TRESTLE_OAUTH_METADATA_H

#include <stddef.h>

#include <event2/http.h>

#include "conf.h"

/* The canonical MCP URL: mcp_resource_url, else http://<Host><mcp_path>. */
void	oauth_resource_url(const struct conf *, struct evhttp_request *, char *out, size_t cap);
/* The URL of the resource's metadata: the well-known path goes before the resource's path. */
void	oauth_metadata_url(const struct conf *, struct evhttp_request *, char *out, size_t cap);
/* 1 when path is one of the metadata's paths. */
int	oauth_metadata_path(const struct conf *, const char *path);
/* Answer a request to a metadata path: 200 with the document for GET, else 405. */
void	oauth_metadata_serve(const struct conf *, struct evhttp_request *);

#endif
