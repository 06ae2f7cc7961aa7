/*
 * Trawl's speed-ups of libmagic's two costliest tests, `search` and `regex`. Neither changes
 * an answer: each only skips work whose outcome is already known.
 *
 * - A `search` test compares its string at every offset of its range. An offset whose byte
 *   cannot begin a match (file_strncmp's own first-byte test) is skipped with memchr.
 * - A `regex` test runs glibc's regexec. Before it, the literals every match of the pattern
 *   must contain (read from the pattern once) are looked for with memmem: when one is absent
 *   the outcome is REG_NOMATCH, which is what regexec would have said.
 */
#ifndef TRAWL_PREFILTER_H
#define TRAWL_PREFILTER_H

#include <stddef.h>
#include <stdint.h>
#include <regex.h>

#define TRAWL_MAX_CLAUSES 6
#define TRAWL_MAX_ALTS 8
#define TRAWL_MAX_LIT 32

struct trawl_lit {
	unsigned char s[TRAWL_MAX_LIT];
	size_t len;
};

/* One clause holds when any of its literals occurs. */
struct trawl_clause {
	int nalt;
	struct trawl_lit alt[TRAWL_MAX_ALTS];
};

/* Every clause must hold for the pattern to match; none means "no knowledge". */
struct trawl_req {
	int nclause;
	int icase;
	struct trawl_clause clause[TRAWL_MAX_CLAUSES];
};

/* A compiled regex with its requirement: regex_t first, so the pointer is the regex's own. */
struct trawl_rx {
	regex_t rx;
	struct trawl_req req;
};

/* Reads what every match of an ERE pattern must contain (nothing when unsure). */
void trawl_req_build(struct trawl_req *req, const char *pattern, int icase);

/* 0 when `s` cannot hold a match of the pattern; 1 when it may. */
int trawl_req_may_match(const struct trawl_req *req, const char *s, size_t len);

/* The bytes that can begin a match of a `search` string (file_strncmp's first comparison). */
struct trawl_first {
	int n;			/* how many bytes can; 1: just `one` */
	unsigned char one;
	unsigned char can[256];	/* when n > 1: can[b] != 0 when byte b can */
};

/*
 * Fills `f` for a string whose first byte is `a0` under `flags`, in the process's locale.
 * Returns -1 when any byte can begin a match (a space under compacting flags).
 */
int trawl_first_init(struct trawl_first *f, unsigned char a0, uint32_t flags);

/* The first offset in [from, end) whose byte can begin a match, or `end`. */
size_t trawl_next_first(const struct trawl_first *f, const char *s, size_t from, size_t end);

#endif
