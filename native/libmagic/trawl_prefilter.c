/*
 * Trawl's speed-ups of libmagic's `search` and `regex` tests; see trawl_prefilter.h. The
 * pattern reader is deliberately small: whatever it does not understand gives no requirement,
 * and the test then runs exactly as upstream's.
 */
#include "file.h"
#include "trawl_prefilter.h"

#include <ctype.h>
#include <pthread.h>
#include <string.h>

/* ---- search: which bytes can begin a match ---------------------------------------------- */

/* For each byte b: the bytes c with tolower(c) == b, and those with toupper(c) == b. */
static unsigned char lower_inv[256][256], upper_inv[256][256];
static int lower_inv_n[256], upper_inv_n[256];
static pthread_once_t inv_once = PTHREAD_ONCE_INIT;

static void
inv_init(void)
{
	for (int c = 0; c < 256; c++) {
		int l = tolower(c), u = toupper(c);
		if (l >= 0 && l < 256)
			lower_inv[l][lower_inv_n[l]++] = (unsigned char)c;
		if (u >= 0 && u < 256)
			upper_inv[u][upper_inv_n[u]++] = (unsigned char)c;
	}
}

static void
first_set(struct trawl_first *f, const unsigned char *bytes, int n)
{
	f->n = n;
	f->one = n > 0 ? bytes[0] : 0;
	if (n > 1) {
		memset(f->can, 0, sizeof(f->can));
		for (int i = 0; i < n; i++)
			f->can[bytes[i]] = 1;
	}
}

/* Mirrors the first pass of file_strncmp's loop ("combine the others") for one byte. */
int
trawl_first_init(struct trawl_first *f, unsigned char a0, uint32_t flags)
{
	pthread_once(&inv_once, inv_init);
	if ((flags & STRING_IGNORE_LOWERCASE) && islower(a0))
		first_set(f, lower_inv[a0], lower_inv_n[a0]);
	else if ((flags & STRING_IGNORE_UPPERCASE) && isupper(a0))
		first_set(f, upper_inv[a0], upper_inv_n[a0]);
	else if ((flags & (STRING_COMPACT_WHITESPACE |
	    STRING_COMPACT_OPTIONAL_WHITESPACE)) && isspace(a0))
		return -1;
	else
		first_set(f, &a0, 1);
	return 0;
}

size_t
trawl_next_first(const struct trawl_first *f, const char *s, size_t from, size_t end)
{
	const unsigned char *u = (const unsigned char *)s;
	if (from >= end || f->n == 0)
		return end;
	if (f->n == 1) {
		const unsigned char *at = memchr(u + from, f->one, end - from);
		return at ? (size_t)(at - u) : end;
	}
	while (from < end && !f->can[u[from]])
		from++;
	return from;
}

/* ---- regex: literals every match contains ------------------------------------------------ */

static size_t
clause_strength(const struct trawl_clause *c)
{
	size_t min = SIZE_MAX;
	for (int i = 0; i < c->nalt; i++)
		if (c->alt[i].len < min)
			min = c->alt[i].len;
	return c->nalt ? min : 0;
}

static void
add_clause(struct trawl_req *r, const struct trawl_clause *c)
{
	if (c->nalt == 0)
		return;
	if (r->nclause < TRAWL_MAX_CLAUSES) {
		r->clause[r->nclause++] = *c;
		return;
	}
	/* Full: a stronger clause replaces the weakest. Dropping one only weakens the filter. */
	int weakest = 0;
	for (int i = 1; i < r->nclause; i++)
		if (clause_strength(&r->clause[i]) < clause_strength(&r->clause[weakest]))
			weakest = i;
	if (clause_strength(c) > clause_strength(&r->clause[weakest]))
		r->clause[weakest] = *c;
}

static void
flush_run(struct trawl_req *r, struct trawl_lit *run)
{
	if (run->len == 0)
		return;
	struct trawl_clause c;
	c.nalt = 1;
	c.alt[0] = *run;
	add_clause(r, &c);
	run->len = 0;
}

static int parse_alt(const unsigned char **pp, struct trawl_req *out, int depth);

/* A bracket expression: `[` already read; leaves *pp after its `]`. */
static int
skip_bracket(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	for (;;) {
		if (*p == '\0')
			return -1;
		if (*p == ']') {
			*pp = p + 1;
			return 0;
		}
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			unsigned char kind = p[1];
			p += 2;
			while (*p && !(p[0] == kind && p[1] == ']'))
				p++;
			if (*p == '\0')
				return -1;
			p += 2;
			continue;
		}
		p++;
	}
}

/* Quantifiers after an atom: the least number of times it must occur (-1: malformed). */
static long
parse_quantifiers(const unsigned char **pp, int *quantified)
{
	const unsigned char *p = *pp;
	long min = 1;
	*quantified = 0;
	for (;;) {
		if (*p == '*' || *p == '?') {
			min = 0;
			p++;
		} else if (*p == '+') {
			p++;
		} else if (*p == '{') {
			p++;
			if (!isdigit(*p))
				return -1;
			long n = 0;
			while (isdigit(*p)) {
				n = n * 10 + (*p++ - '0');
				if (n > 100000)
					return -1;
			}
			if (*p == ',') {
				p++;
				while (isdigit(*p))
					p++;
			}
			if (*p != '}')
				return -1;
			p++;
			min = min && n ? 1 : 0;
		} else {
			break;
		}
		*quantified = 1;
	}
	*pp = p;
	return min;
}

/* One branch: pieces up to `|`, `)` or the end. */
static int
parse_branch(const unsigned char **pp, struct trawl_req *out, int depth)
{
	const unsigned char *p = *pp;
	struct trawl_lit run;
	run.len = 0;
	out->nclause = 0;
	while (*p && *p != '|' && *p != ')') {
		enum { LITERAL, GROUP, OTHER, ANCHOR } kind;
		unsigned char lit = 0;
		struct trawl_req sub;
		switch (*p) {
		case '(':
			p++;
			if (parse_alt(&p, &sub, depth + 1) == -1 || *p != ')')
				return -1;
			p++;
			kind = GROUP;
			break;
		case '[':
			p++;
			if (skip_bracket(&p) == -1)
				return -1;
			kind = OTHER;
			break;
		case '.':
			p++;
			kind = OTHER;
			break;
		case '^':
		case '$':
			p++;
			kind = ANCHOR;
			break;
		case '\\':
			if (p[1] == '\0')
				return -1;
			/* \w \s \b \< \1 ...: classes, assertions and back-references. */
			if (isalnum(p[1]) || p[1] == '<' || p[1] == '>' || p[1] == '`' ||
			    p[1] == '\'') {
				kind = OTHER;
			} else {
				kind = LITERAL;
				lit = p[1];
			}
			p += 2;
			break;
		case '*':
		case '+':
		case '?':
		case '{':
			return -1;
		default:
			kind = LITERAL;
			lit = *p++;
			break;
		}
		int quantified;
		long min = parse_quantifiers(&p, &quantified);
		if (min < 0 || (kind == ANCHOR && quantified))
			return -1;
		if (kind == LITERAL && !quantified) {
			if (run.len == TRAWL_MAX_LIT)
				flush_run(out, &run);
			run.s[run.len++] = lit;
			continue;
		}
		flush_run(out, &run);
		if (min == 0)
			continue;
		if (kind == LITERAL) {
			struct trawl_clause c;
			c.nalt = 1;
			c.alt[0].s[0] = lit;
			c.alt[0].len = 1;
			add_clause(out, &c);
		} else if (kind == GROUP) {
			for (int i = 0; i < sub.nclause; i++)
				add_clause(out, &sub.clause[i]);
		}
	}
	flush_run(out, &run);
	*pp = p;
	return 0;
}

/* Branches separated by `|`, up to `)` or the end (neither consumed). */
static int
parse_alt(const unsigned char **pp, struct trawl_req *out, int depth)
{
	const unsigned char *p = *pp;
	struct trawl_req branch;
	struct trawl_clause either;
	int branches = 0, unknown = 0;
	if (depth > 32)
		return -1;
	either.nalt = 0;
	out->nclause = 0;
	for (;;) {
		if (parse_branch(&p, &branch, depth) == -1)
			return -1;
		if (branches == 0)
			*out = branch;
		/* A branch's strongest clause joins the alternatives of `either`. */
		int best = -1;
		for (int i = 0; i < branch.nclause; i++)
			if (best == -1 || clause_strength(&branch.clause[i]) >
			    clause_strength(&branch.clause[best]))
				best = i;
		if (best == -1 || either.nalt + branch.clause[best].nalt > TRAWL_MAX_ALTS) {
			unknown = 1;
		} else {
			for (int i = 0; i < branch.clause[best].nalt; i++)
				either.alt[either.nalt++] = branch.clause[best].alt[i];
		}
		branches++;
		if (*p != '|')
			break;
		p++;
	}
	if (branches > 1) {
		out->nclause = 0;
		if (!unknown)
			add_clause(out, &either);
	}
	*pp = p;
	return 0;
}

void
trawl_req_build(struct trawl_req *req, const char *pattern, int icase)
{
	const unsigned char *p = (const unsigned char *)pattern;
	if (parse_alt(&p, req, 0) == -1 || *p != '\0')
		req->nclause = 0;
	req->icase = icase;	/* after: parse_alt writes the whole struct */
}

static int
fold(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* memmem with ASCII case folding, as glibc's REG_ICASE in the C locale compares. */
static int
contains_icase(const unsigned char *h, size_t n, const unsigned char *s, size_t m)
{
	if (m > n)
		return 0;
	unsigned char lo = (unsigned char)fold(s[0]);
	unsigned char up = (lo >= 'a' && lo <= 'z') ? (unsigned char)(lo - ('a' - 'A')) : lo;
	const unsigned char *end = h + (n - m) + 1; /* first bytes lie before `end` */
	const unsigned char *next_lo = memchr(h, lo, (size_t)(end - h));
	const unsigned char *next_up = up == lo ? NULL : memchr(h, up, (size_t)(end - h));
	for (;;) {
		const unsigned char *at;
		if (next_lo && (!next_up || next_lo < next_up))
			at = next_lo;
		else if (next_up)
			at = next_up;
		else
			return 0;
		size_t i = 1;
		while (i < m && fold(at[i]) == fold(s[i]))
			i++;
		if (i == m)
			return 1;
		if (at == next_lo)
			next_lo = memchr(at + 1, lo, (size_t)(end - at - 1));
		else
			next_up = memchr(at + 1, up, (size_t)(end - at - 1));
	}
}

int
trawl_req_may_match(const struct trawl_req *req, const char *s, size_t len)
{
	const unsigned char *h = (const unsigned char *)s;
	for (int i = 0; i < req->nclause; i++) {
		const struct trawl_clause *c = &req->clause[i];
		int found = 0;
		for (int j = 0; j < c->nalt && !found; j++) {
			const struct trawl_lit *l = &c->alt[j];
			found = req->icase ? contains_icase(h, len, l->s, l->len)
			    : memmem(h, len, l->s, l->len) != NULL;
		}
		if (!found)
			return 0;
	}
	return 1;
}
