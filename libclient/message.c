/*
 * message.c: owns the response headers as Python shows them:
 * getheader() (repeated values and list defaults joined by ", "),
 * getheaders(), and resp.msg's get(), get_all() and items().
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"

/* A joined getheader() result, kept until the response is freed. */
struct resp_joined {
	struct resp_joined *next;
	char		*name;		/* NULL: a joined default */
	char		*value;
};

static const char *keep_joined(hpool_response *, const char *,
		    const char *const *, size_t);

void
msg_free_joined(hpool_response *r)
{
	struct resp_joined *j, *next;

	for (j = r->joined; j != NULL; j = next) {
		next = j->next;
		free(j->name);
		free(j->value);
		free(j);
	}
	r->joined = NULL;
}

/*
 * ", ".join(values) kept on the response. A header's join is found again
 * by name; a default's is made per call (the caller's list may change).
 * NULL when out of memory.
 */
static const char *
keep_joined(hpool_response *r, const char *name, const char *const *values,
    size_t n)
{
	struct resp_joined *j;
	size_t i, total = 1, len;
	char *v;

	for (j = r->joined; name != NULL && j != NULL; j = j->next)
		if (j->name != NULL && strcasecmp(j->name, name) == 0)
			return j->value;
	for (i = 0; i < n; i++)
		total += strlen(values[i]) + 2;
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (name != NULL && (j->name = strdup(name)) == NULL) ||
	    (j->value = v = malloc(total)) == NULL) {
		if (j != NULL)
			free(j->name);
		free(j);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (i > 0) {
			memcpy(v, ", ", 2);
			v += 2;
		}
		len = strlen(values[i]);
		memcpy(v, values[i], len);
		v += len;
	}
	*v = '\0';
	j->next = r->joined;
	r->joined = j;
	return j->value;
}

const char *
hpool_response_getheader(hpool_response *r, const char *name,
    const char *dflt)
{
	const char **vals;
	const char *joined;
	size_t n;

	n = hpool_message_get_all(&r->msg, name, NULL, 0);
	if (n == 0)
		return dflt;
	if (n == 1)
		return hpool_message_get(&r->msg, name, dflt);
	if ((vals = calloc(n, sizeof(*vals))) == NULL)
		return hpool_message_get(&r->msg, name, dflt);
	hpool_message_get_all(&r->msg, name, vals, n);
	joined = keep_joined(r, name, vals, n);
	free(vals);
	/* Out of memory: the first value is the best left to give. */
	return joined != NULL ? joined : hpool_message_get(&r->msg, name,
	    dflt);
}

/* A list default is joined; an absent list (dflt NULL) is None. */
const char *
hpool_response_getheaderv(hpool_response *r, const char *name,
    const char *const *dflt, size_t ndflt)
{
	if (hpool_message_get_all(&r->msg, name, NULL, 0) > 0 || dflt == NULL)
		return hpool_response_getheader(r, name, NULL);
	return keep_joined(r, NULL, dflt, ndflt);
}

size_t
hpool_response_getheaders(const hpool_response *r,
    const struct hpool_header **headers)
{
	*headers = r->headers;
	return r->nheaders;
}

const hpool_message *
hpool_response_msg(const hpool_response *r)
{
	return &r->msg;
}

const hpool_message *
hpool_response_info(const hpool_response *r)
{
	return &r->msg;
}

const char *
hpool_message_get(const hpool_message *m, const char *name,
    const char *failobj)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		if (strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return failobj;
}

size_t
hpool_message_get_all(const hpool_message *m, const char *name,
    const char **values, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < m->nheaders; i++)
		if (strcasecmp(m->headers[i].name, name) == 0) {
			if (values != NULL && n < max)
				values[n] = m->headers[i].value;
			n++;
		}
	return n;
}

size_t
hpool_message_items(const hpool_message *m,
    const struct hpool_header **headers)
{
	*headers = m->headers;
	return m->nheaders;
}
