#include "config.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "http_headers.h"
#include "oauth_metadata.h"

#define WELL_KNOWN	"/.well-known/oauth-protected-resource"
#define URL_MAX		1024

/*
 * The Host header names the resource when no mcp_resource_url is set; only
 * a plain host[:port] is taken, anything else falls back to the listener.
 */
static const char *
oauth_host(const struct conf *cf, struct evhttp_request *req)
{
	const char *host = http_header_get(evhttp_request_get_input_headers(req), "Host");

	if (host == NULL || host[0] == '\0' || strlen(host) > 255 ||
	    host[strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-:[]")] != '\0')
		return cf->listen;
	return host;
}

void
oauth_resource_url(const struct conf *cf, struct evhttp_request *req, char *out, size_t cap)
{
	if (cf->mcp_resource_url[0] != '\0')
		snprintf(out, cap, "%s", cf->mcp_resource_url);
	else
		snprintf(out, cap, "http://%s%s", oauth_host(cf, req), cf->mcp_path);
}

/* Where the path of an absolute URL starts ("" when it has none). */
static const char *
oauth_url_path(const char *url)
{
	const char *authority = strstr(url, "://"), *path;

	if (authority == NULL)
		return "";
	path = strchr(authority + 3, '/');
	return path != NULL ? path : "";
}

void
oauth_metadata_url(const struct conf *cf, struct evhttp_request *req, char *out, size_t cap)
{
	char resource[URL_MAX];
	const char *path;

	oauth_resource_url(cf, req, resource, sizeof(resource));
	path = oauth_url_path(resource);
	snprintf(out, cap, "%.*s" WELL_KNOWN "%s", (int)(path - resource), resource,
	    strcmp(path, "/") == 0 ? "" : path);
}

int
oauth_metadata_path(const struct conf *cf, const char *path)
{
	size_t n = strlen(WELL_KNOWN);

	if (strncmp(path, WELL_KNOWN, n) != 0)
		return 0;
	path += n;
	return path[0] == '\0' || strcmp(path, cf->mcp_path) == 0 ||
	    (cf->mcp_resource_url[0] != '\0' &&
	    strcmp(path, oauth_url_path(cf->mcp_resource_url)) == 0);
}

/* A comma- or space-separated list as a JSON array of its non-empty words. */
static json_object *
oauth_list(const char *text)
{
	json_object *list = json_object_new_array();
	size_t len;

	while (*text != '\0') {
		text += strspn(text, ", ");
		if ((len = strcspn(text, ", ")) > 0)
			json_object_array_add(list, json_object_new_string_len(text, (int)len));
		text += len;
	}
	return list;
}

static json_object *
oauth_document(const struct conf *cf, struct evhttp_request *req)
{
	json_object *doc = json_object_new_object();
	char resource[URL_MAX];
	const char *servers = cf->mcp_authorization_servers[0] != '\0' ?
	    cf->mcp_authorization_servers : cf->mcp_jwt_issuer;

	oauth_resource_url(cf, req, resource, sizeof(resource));
	json_object_object_add(doc, "resource", json_object_new_string(resource));
	json_object_object_add(doc, "authorization_servers", oauth_list(servers));
	json_object_object_add(doc, "scopes_supported", oauth_list(cf->mcp_required_scopes));
	json_object_object_add(doc, "bearer_methods_supported", oauth_list("header"));
	json_object_object_add(doc, "resource_name", json_object_new_string("trestle"));
	return doc;
}

void
oauth_metadata_serve(const struct conf *cf, struct evhttp_request *req)
{
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	json_object *doc;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(headers, "Allow", "GET");
		evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
		return;
	}
	doc = oauth_document(cf, req);
	/* Public by design: browser-based clients read it from other origins. */
	evhttp_add_header(headers, "Access-Control-Allow-Origin", "*");
	evhttp_add_header(headers, "Content-Type", "application/json");
	evhttp_add_header(headers, "Cache-Control", "max-age=3600");
	evbuffer_add_printf(evhttp_request_get_output_buffer(req), "%s",
	    json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	evhttp_send_reply(req, 200, "OK", NULL);
}
