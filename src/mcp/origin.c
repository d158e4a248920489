#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "origin.h"

#define NAME_MAX_LEN	256

struct origin_list {
	char	**names;
	size_t	  count;
	int	  any;
};

struct origin_policy {
	struct origin_list	hosts, origins;
};

static void
origin_list_parse(struct origin_list *l, const char *text)
{
	char *copy = strdup(text), *tok, *save = NULL;

	if (copy == NULL)
		fatal("origin_list_parse");
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, "*") == 0)
			l->any = 1;
		if ((l->names = realloc(l->names, (l->count + 1) * sizeof(*l->names))) == NULL ||
		    (l->names[l->count] = strdup(tok)) == NULL)
			fatal("origin_list_parse");
		l->count++;
	}
	free(copy);
}

static int
origin_list_has(const struct origin_list *l, const char *name)
{
	if (l->any)
		return 1;
	for (size_t i = 0; i < l->count; i++)
		if (strcasecmp(l->names[i], name) == 0)
			return 1;
	return 0;
}

/* The host of "host", "host:port", "[v6]" or "[v6]:port"; -1 when malformed. */
static int
origin_host_part(const char *authority, char out[NAME_MAX_LEN])
{
	const char *end;
	size_t len;

	if (authority[0] == '[')
		end = strchr(authority, ']') != NULL ? strchr(authority, ']') + 1 : NULL;
	else
		end = authority + strcspn(authority, ":");
	if (end == NULL || (*end != '\0' && *end != ':') || end == authority)
		return -1;
	if (*end == ':' && (end[1] == '\0' || strspn(end + 1, "0123456789") != strlen(end + 1) ||
	    strlen(end + 1) > 5))
		return -1;	/* a port is 1 to 5 digits: "localhost:1@evil.example" is no host */
	if ((len = (size_t)(end - authority)) >= NAME_MAX_LEN)
		return -1;
	memcpy(out, authority, len);
	out[len] = '\0';
	return 0;
}

static int
origin_host_ok(const struct origin_policy *p, const char *host)
{
	char name[NAME_MAX_LEN];

	return origin_host_part(host, name) == 0 && origin_list_has(&p->hosts, name);
}

/* "scheme://authority" with nothing after the authority. */
static int
origin_origin_ok(const struct origin_policy *p, const char *origin)
{
	const char *sep = strstr(origin, "://");
	char name[NAME_MAX_LEN];

	if (p->origins.any || (sep != NULL && origin_list_has(&p->origins, origin)))
		return 1;	/* "*", or a full origin listed as such (a bare name is no origin) */
	if (sep == NULL || strchr(sep + 3, '/') != NULL)
		return 0;
	return origin_host_part(sep + 3, name) == 0 && origin_list_has(&p->origins, name);
}

struct origin_policy *
origin_policy_new(const char *allowed_hosts, const char *allowed_origins)
{
	struct origin_policy *p = calloc(1, sizeof(*p));

	if (p == NULL)
		fatal("origin_policy_new");
	origin_list_parse(&p->hosts, allowed_hosts);
	origin_list_parse(&p->origins, allowed_origins);
	return p;
}

int
origin_allowed(const struct origin_policy *p, const char *host, const char *origin)
{
	if (host != NULL && !origin_host_ok(p, host))
		return 0;
	return origin == NULL || origin_origin_ok(p, origin);
}

static void
origin_list_free(struct origin_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->names[i]);
	free(l->names);
}

void
origin_policy_free(struct origin_policy *p)
{
	if (p == NULL)
		return;
	origin_list_free(&p->hosts);
	origin_list_free(&p->origins);
	free(p);
}
