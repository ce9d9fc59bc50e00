/*
 * The HTTP router: patterns of literal and {param} segments, with a last
 * {name*} segment taking the rest of the path.
 *
 * It matches the decoded path of a request (csf__http_request.path), which
 * the reader has already percent-decoded once and cleared of "." and ".."
 * segments; parameter values are copies of decoded segments and are never
 * decoded a second time ("%2541" stays "%41"). An encoded slash ("%2F")
 * therefore separates segments like a plain one.
 */
#include <string.h>

#include "net/http1.h"

enum seg_kind { SEG_END = 0, SEG_LITERAL = 1, SEG_PARAM = 2, SEG_TAIL = 3 };

typedef struct seg {
	int kind;
	const char *text;   /* the literal, or the parameter's name */
	size_t len;
} seg;

typedef struct route {
	char *method;
	char *pattern;
	char *names;        /* the pattern split into NUL-terminated segments */
	seg *segs;
	size_t nsegs;
	void *handler;
} route;

struct csf__router {
	route *routes;
	size_t count, cap;
};

int csf__router_new(csf__router **out)
{
	csf__router *r;

	if (!out)
		return csf__misuse("csf__router_new: out is NULL");
	*out = NULL;
	r = csf__calloc(1, sizeof(*r));
	if (!r)
		return CSF_ENOMEM;
	*out = r;
	return 0;
}

static void route_free(route *rt)
{
	csf__free(rt->method);
	csf__free(rt->pattern);
	csf__free(rt->names);
	csf__free(rt->segs);
}

void csf__router_free(csf__router *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->count; i++)
		route_free(&r->routes[i]);
	csf__free(r->routes);
	csf__free(r);
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int bad_pattern(const char *pattern, const char *why)
{
	return csf__error_set(CSF_EINVALID, "router: pattern %.128s: %s", pattern, why);
}

/* Split `rt->pattern` into rt->segs (rt->names holds the pieces). */
static int parse_pattern(route *rt)
{
	const char *pattern = rt->pattern;
	size_t i, n = 0, params = 0, len = strlen(pattern);
	char *p;

	if (pattern[0] != '/')
		return bad_pattern(pattern, "it does not start with '/'");
	if (len == 1)
		return 0;
	for (i = 0; i < len; i++)
		n += pattern[i] == '/';
	rt->names = csf__strdup(pattern + 1);
	rt->segs = csf__calloc(n, sizeof(*rt->segs));
	if (!rt->names || !rt->segs)
		return CSF_ENOMEM;
	for (p = rt->names; p; rt->nsegs++) {
		char *slash = strchr(p, '/');
		seg *s = &rt->segs[rt->nsegs];
		size_t sl;

		if (slash)
			*slash = '\0';
		sl = strlen(p);
		if (sl == 0)
			return bad_pattern(pattern, "empty segment");
		if (p[0] == '{') {
			size_t j, k;

			if (p[sl - 1] != '}')
				return bad_pattern(pattern, "a segment starting with '{' must end with '}'");
			p[--sl] = '\0';
			s->kind = SEG_PARAM;
			if (sl > 1 && p[sl - 1] == '*') {
				if (slash)
					return bad_pattern(pattern, "{name*} must be the last segment");
				p[--sl] = '\0';
				s->kind = SEG_TAIL;
			}
			s->text = p + 1;
			s->len = sl - 1;
			if (s->len == 0)
				return bad_pattern(pattern, "parameter without a name");
			for (j = 0; j < s->len; j++)
				if (!name_char(s->text[j]))
					return bad_pattern(pattern, "parameter names are letters, digits and '_'");
			if (++params > CSF__HTTP_MAX_PARAMS)
				return bad_pattern(pattern, "too many parameters");
			for (k = 0; k < rt->nsegs; k++)
				if (rt->segs[k].kind >= SEG_PARAM && !strcmp(rt->segs[k].text, s->text))
					return bad_pattern(pattern, "parameter name used twice");
		} else {
			if (strpbrk(p, "{}"))
				return bad_pattern(pattern, "'{' or '}' inside a literal segment");
			if (!strcmp(p, ".") || !strcmp(p, ".."))
				return bad_pattern(pattern, "'.' or '..' segment");
			s->kind = SEG_LITERAL;
			s->text = p;
			s->len = sl;
		}
		p = slash ? slash + 1 : NULL;
	}
	return 0;
}

/* Same method and the same shape: a request could not tell them apart. */
static int same_route(const route *a, const route *b)
{
	size_t i;

	if (strcmp(a->method, b->method) || a->nsegs != b->nsegs)
		return 0;
	for (i = 0; i < a->nsegs; i++) {
		if (a->segs[i].kind != b->segs[i].kind)
			return 0;
		if (a->segs[i].kind == SEG_LITERAL && strcmp(a->segs[i].text, b->segs[i].text))
			return 0;
	}
	return 1;
}

static int method_ok(const char *m)
{
	if (!strcmp(m, "*"))
		return 1;
	if (!*m)
		return 0;
	for (; *m; m++)
		if (!(*m >= 'A' && *m <= 'Z') && *m != '-' && *m != '_')
			return 0;
	return 1;
}

int csf__router_add(csf__router *r, const char *method, const char *pattern, void *handler)
{
	route rt = { NULL, NULL, NULL, NULL, 0, handler };
	size_t i;
	int rc;

	if (!r || !method || !pattern)
		return csf__misuse("csf__router_add: router, method and pattern are required");
	if (!method_ok(method))
		return csf__error_set(CSF_EINVALID, "router: method \"%.32s\" is not \"*\" or upper-case letters",
				      method);
	rt.method = csf__strdup(method);
	rt.pattern = csf__strdup(pattern);
	if (!rt.method || !rt.pattern) {
		rc = CSF_ENOMEM;
		goto cleanup;
	}
	if ((rc = parse_pattern(&rt)) != 0)
		goto cleanup;
	for (i = 0; i < r->count; i++) {
		if (same_route(&r->routes[i], &rt)) {
			rc = csf__error_set(CSF_EEXISTS, "router: %s %s is already routed (as %s)", method, pattern,
					    r->routes[i].pattern);
			goto cleanup;
		}
	}
	if ((rc = CSF__ARRAY_RESERVE(r->routes, r->cap, r->count + 1)) != 0)
		goto cleanup;
	r->routes[r->count++] = rt;
	return 0;
cleanup:
	route_free(&rt);
	return rc;
}

/*
 * The next segment of a path being walked: `*rest` is what follows the
 * previous '/', or NULL when no segment is left.
 */
static int next_segment(const char **rest, const char **s, size_t *len)
{
	const char *slash;

	if (!*rest)
		return 0;
	*s = *rest;
	slash = strchr(*rest, '/');
	*len = slash ? (size_t)(slash - *rest) : strlen(*rest);
	*rest = slash ? slash + 1 : NULL;
	return 1;
}

static const char *path_start(const char *path)
{
	return path[1] ? path + 1 : NULL;
}

static int route_matches(const route *rt, const char *path)
{
	const char *rest = path_start(path), *s;
	size_t i, len;

	for (i = 0; i < rt->nsegs; i++) {
		const seg *g = &rt->segs[i];

		if (g->kind == SEG_TAIL)
			return 1;
		if (!next_segment(&rest, &s, &len))
			return 0;
		if (g->kind == SEG_LITERAL ? len != g->len || memcmp(s, g->text, len) : len == 0)
			return 0;
	}
	return rest == NULL;
}

static int kind_at(const route *rt, size_t i)
{
	if (i < rt->nsegs)
		return rt->segs[i].kind;
	return rt->nsegs && rt->segs[rt->nsegs - 1].kind == SEG_TAIL ? SEG_TAIL : SEG_END;
}

/*
 * Which of two routes that match the same path wins: at the first position
 * where they differ, a literal beats a parameter, which beats the tail; an
 * exact method beats "*". Negative when `a` wins.
 */
static int route_cmp(const route *a, const route *b)
{
	size_t i, n = a->nsegs > b->nsegs ? a->nsegs : b->nsegs;

	for (i = 0; i <= n; i++) {
		int ka = kind_at(a, i), kb = kind_at(b, i);

		if (ka != kb)
			return ka - kb;
	}
	return (strcmp(a->method, "*") == 0) - (strcmp(b->method, "*") == 0);
}

static int fill_params(const route *rt, const char *path, csf__http_params *params)
{
	const char *rest = path_start(path), *s = "";
	size_t i, len = 0;

	for (i = 0; i < rt->nsegs; i++) {
		const seg *g = &rt->segs[i];
		char *v;

		if (g->kind == SEG_TAIL) {
			s = rest ? rest : "";
			len = strlen(s);
		} else {
			next_segment(&rest, &s, &len);
			if (g->kind == SEG_LITERAL)
				continue;
		}
		v = csf__strndup(s, len);
		if (!v)
			return CSF_ENOMEM;
		params->names[params->count] = g->text;
		params->values[params->count++] = v;
	}
	return 0;
}

/* Append `method` to the Allow list unless it is there; `*fits` drops to 0
 * when the list outgrows the buffer. */
static void allow_add(char *buf, size_t cap, int *fits, const char *method)
{
	size_t len = strlen(buf), mlen = strlen(method);
	const char *p = buf;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == mlen && !memcmp(p, method, n))
			return;
		p += n;
		while (*p == ',' || *p == ' ')
			p++;
	}
	if (len + (len ? 2 : 0) + mlen + 1 > cap) {
		*fits = 0;
		return;
	}
	if (len) {
		memcpy(buf + len, ", ", 2);
		len += 2;
	}
	memcpy(buf + len, method, mlen + 1);
}

int csf__router_match(const csf__router *r, const char *method, const char *path, void **handler,
		      csf__http_params *params, char *allow, size_t allow_cap)
{
	const route *best = NULL;
	char methods[512] = "";
	int fits = 1, rc;
	size_t i;

	if (handler)
		*handler = NULL;
	if (params)
		memset(params, 0, sizeof(*params));
	if (allow && allow_cap)
		allow[0] = '\0';
	if (!r || !method || !path || !handler)
		return csf__misuse("csf__router_match: router, method, path and handler are required");
	if (path[0] != '/')
		return csf__error_set(CSF_ENOTFOUND, "router: %.128s is not a path", path);
	/* The reader refuses these; a path from elsewhere must not reach a
	 * {name*} handler with them either. */
	for (i = 0; path[i]; i++) {
		const char *s = path + i + 1;
		size_t n;

		if (path[i] != '/')
			continue;
		n = strcspn(s, "/");
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return csf__error_set(CSF_ENOTFOUND, "router: %.128s has a '.' or '..' segment", path);
	}
	for (i = 0; i < r->count; i++) {
		const route *rt = &r->routes[i];

		if (!route_matches(rt, path))
			continue;
		if (strcmp(rt->method, "*") && strcmp(rt->method, method)) {
			allow_add(methods, sizeof(methods), &fits, rt->method);
			continue;
		}
		if (!best || route_cmp(rt, best) < 0)
			best = rt;
	}
	if (!best && !methods[0])
		return csf__error_set(CSF_ENOTFOUND, "router: no route for %.128s", path);
	if (!best) {
		if (allow && fits && strlen(methods) < allow_cap)
			memcpy(allow, methods, strlen(methods) + 1);
		return csf__error_set(CSF_EINVALID, "router: %.32s is not allowed for %.128s (allowed: %s)", method,
				      path, methods);
	}
	if (params && (rc = fill_params(best, path, params)) != 0) {
		csf__http_params_free(params);
		return rc;
	}
	*handler = best->handler;
	return 0;
}

const char *csf__http_param(const csf__http_params *p, const char *name)
{
	size_t i;

	if (!p || !name)
		return NULL;
	for (i = 0; i < p->count; i++)
		if (!strcmp(p->names[i], name))
			return p->values[i];
	return NULL;
}

void csf__http_params_free(csf__http_params *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->count; i++)
		csf__free(p->values[i]);
	memset(p, 0, sizeof(*p));
}

size_t csf__router_count(const csf__router *r)
{
	return r ? r->count : 0;
}

int csf__router_route(const csf__router *r, size_t i, const char **method, const char **pattern)
{
	if (!r || i >= r->count)
		return csf__error_set(CSF_ENOTFOUND, "router: no route %zu", i);
	if (method)
		*method = r->routes[i].method;
	if (pattern)
		*pattern = r->routes[i].pattern;
	return 0;
}
