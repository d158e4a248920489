/* Header lookups on evhttp's header lists. */
#ifndef TRESTLE_HTTP_HEADERS_H
#define TRESTLE_HTTP_HEADERS_H

struct evkeyvalq;

/* The value of the first header called name (ASCII case-insensitive), or NULL. */
const char	*http_header_get(const struct evkeyvalq *headers, const char *name);

#endif
