/* SPDX-License-Identifier: MIT */
/*
 * glob: files under the workdir matching a pattern, newest first (node.ts
 * betaGlobTool over Node 22's fs.glob).
 *
 * The walk reproduces what fs.glob does for the SDK's options: a segment
 * `**` crosses real directories whose names do not start with '.', never a
 * symlink; a wildcard segment (`*.c`, `?`, `[ab]`) does not match a leading
 * '.' unless it starts with one and descends only into real directories; a
 * plain segment is looked up by name and may lead through a symlinked
 * directory.  Directories named .git or node_modules are never entered.
 * Each match must be a regular file whose real path stays inside the
 * search root.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glob-match.h"
#include "toolset.h"

#define GLOB_MAX_SEGMENTS  64
#define GLOB_MAX_VISITS    1000000  /* directory entries examined, all patterns */
#define GLOB_STAR          ((char *)1)

struct glob_match {
	char *path;
	double mtime;
};

struct glob_walk {
	const char *root;       /* search root as the results print it */
	const char *real_root;  /* canonical, for the containment check */
	char *segs[GLOB_MAX_SEGMENTS];
	bool magic[GLOB_MAX_SEGMENTS];
	int nsegs;
	/* Entries yielded so far, files or not (fs.glob's yield count). */
	unsigned yielded;
	unsigned long visits;
	bool stop;
	int err;
	/* Every yielded path (open addressing), for deduplication across
	 * brace expansions. */
	char **seen;
	size_t nseen;
	size_t seen_cap;  /* a power of two */
	struct glob_match *matches;
	size_t nmatches;
	size_t matches_cap;
};

static bool
is_excluded(const char *name)
{
	return strcmp(name, ".git") == 0 || strcmp(name, "node_modules") == 0;
}

static uint64_t
hash_str(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

/* 1 if `s` was there already, 0 when added (the set owns it), -ENOMEM. */
static int
seen_add(struct glob_walk *w, char *s)
{
	size_t i;

	if ((w->nseen + 1) * 2 > w->seen_cap) {
		size_t ncap = w->seen_cap ? w->seen_cap * 2 : 1024;
		char **nv = calloc(ncap, sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		for (i = 0; i < w->seen_cap; i++) {
			size_t j;

			if (!w->seen[i])
				continue;
			for (j = hash_str(w->seen[i]) & (ncap - 1); nv[j]; j = (j + 1) & (ncap - 1))
				;
			nv[j] = w->seen[i];
		}
		free(w->seen);
		w->seen = nv;
		w->seen_cap = ncap;
	}
	for (i = hash_str(s) & (w->seen_cap - 1); w->seen[i]; i = (i + 1) & (w->seen_cap - 1))
		if (strcmp(w->seen[i], s) == 0)
			return 1;
	w->seen[i] = s;
	w->nseen++;
	return 0;
}

static char *
join_path(const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	size_t nl = strlen(name);
	char *p;

	if (dl + nl + 2 > PATH_MAX * 4)
		return NULL;
	p = malloc(dl + nl + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	if (dl == 0 || dir[dl - 1] != '/')
		p[dl++] = '/';
	memcpy(p + dl, name, nl + 1);
	return p;
}

/* The path was yielded by the walk: count it, and keep it when it is a
 * regular file inside the root. */
static void
yield(struct glob_walk *w, const char *dir, const char *name, bool is_file)
{
	struct stat st;
	char *full;
	char *real;
	bool inside;
	int r;

	if (w->stop)
		return;
	full = join_path(dir, name);
	if (!full) {
		w->err = -ENOMEM;
		w->stop = true;
		return;
	}
	if (w->yielded >= TS_WALK_MAX_ENTRIES) {
		free(full);
		w->stop = true;
		return;
	}
	r = seen_add(w, full);
	if (r != 0) {
		free(full);
		if (r < 0) {
			w->err = r;
			w->stop = true;
		}
		return;
	}
	w->yielded++;
	if (!is_file)
		return;
	real = realpath(full, NULL);
	if (!real)
		return;
	inside = confine_is_within(w->real_root, real);
	free(real);
	if (!inside)
		return;
	if (w->nmatches == w->matches_cap) {
		size_t ncap = w->matches_cap ? w->matches_cap * 2 : 64;
		struct glob_match *nm = realloc(w->matches, ncap * sizeof(*nm));

		if (!nm) {
			w->err = -ENOMEM;
			w->stop = true;
			return;
		}
		w->matches = nm;
		w->matches_cap = ncap;
	}
	w->matches[w->nmatches].path = full;
	w->matches[w->nmatches].mtime = stat(full, &st) == 0 ?
		(double)st.st_mtim.tv_sec * 1000.0 + (double)st.st_mtim.tv_nsec / 1e6 : 0;
	w->nmatches++;
}

static bool
seg_test(const struct glob_walk *w, int i, const char *name)
{
	const char *seg;

	if (i >= w->nsegs)
		return false;
	seg = w->segs[i];
	if (seg == GLOB_STAR)
		return true;
	if (!w->magic[i])
		return strcmp(seg, name) == 0;
	/* minimatch without `dot`: a wildcard never matches a leading '.'
	 * unless the pattern itself starts with one. */
	if (name[0] == '.' && seg[0] != '.')
		return false;
	return glob_seg_match(seg, name);
}

enum entry_type { ENT_OTHER, ENT_FILE, ENT_DIR, ENT_LINK };

static enum entry_type
type_of_mode(mode_t m)
{
	if (S_ISREG(m))
		return ENT_FILE;
	if (S_ISDIR(m))
		return ENT_DIR;
	if (S_ISLNK(m))
		return ENT_LINK;
	return ENT_OTHER;
}

static void visit(struct glob_walk *w, const char *dir, uint64_t states);

/* One directory entry against the states of its parent. */
static void
entry(struct glob_walk *w, const char *dir, const char *name, enum entry_type type,
      uint64_t states)
{
	int last = w->nsegs - 1;
	uint64_t child = 0;
	int i;

	for (i = 0; i <= last && !w->stop; i++) {
		const char *seg = w->segs[i];

		if (!(states & (UINT64_C(1) << i)))
			continue;
		if (seg == GLOB_STAR) {
			bool next;

			if (is_excluded(name))
				continue;
			if (name[0] != '.') {
				if (type == ENT_DIR)
					child |= UINT64_C(1) << i;
				else if (i == last)
					yield(w, dir, name, type == ENT_FILE);
			}
			next = seg_test(w, i + 1, name);
			if (next && i + 1 == last)
				yield(w, dir, name, type == ENT_FILE);
			else if (next && type == ENT_DIR)
				child |= UINT64_C(1) << (i + 2);
			if (next && (type == ENT_DIR || type == ENT_LINK))
				child |= UINT64_C(1) << (i + 1);
		} else if (!w->magic[i]) {
			if (i != last && strcmp(seg, name) == 0)
				child |= UINT64_C(1) << (i + 1);
		} else if (seg_test(w, i, name)) {
			if (i == last)
				yield(w, dir, name, type == ENT_FILE);
			else if (type == ENT_DIR)
				child |= UINT64_C(1) << (i + 1);
		}
	}
	if (child && !w->stop && !is_excluded(name) && (type == ENT_DIR || type == ENT_LINK)) {
		char *sub = join_path(dir, name);

		if (!sub) {
			w->err = -ENOMEM;
			w->stop = true;
			return;
		}
		visit(w, sub, child);
		free(sub);
	}
}

/* `dir` (followed if it is a symlink) with the segment indexes its
 * entries are to match. */
static void
visit(struct glob_walk *w, const char *dir, uint64_t states)
{
	int last = w->nsegs - 1;
	struct dirent *de;
	DIR *d;
	int only = -1;
	int i;

	if (w->stop)
		return;
	/* A plain last segment is looked up, not listed. */
	if ((states & (UINT64_C(1) << last)) && w->segs[last] != GLOB_STAR && !w->magic[last]) {
		struct stat st;
		char *p = join_path(dir, w->segs[last]);

		if (!p) {
			w->err = -ENOMEM;
			w->stop = true;
			return;
		}
		if (lstat(p, &st) == 0)
			yield(w, dir, w->segs[last], S_ISREG(st.st_mode));
		free(p);
		states &= ~(UINT64_C(1) << last);
		if (!states)
			return;
	}
	for (i = 0; i <= last; i++) {
		if (states & (UINT64_C(1) << i)) {
			only = only == -1 ? i : -2;
		}
	}
	if (only >= 0 && w->segs[only] != GLOB_STAR && !w->magic[only]) {
		struct stat st;
		char *p = join_path(dir, w->segs[only]);

		if (!p) {
			w->err = -ENOMEM;
			w->stop = true;
			return;
		}
		if (lstat(p, &st) == 0)
			entry(w, dir, w->segs[only], type_of_mode(st.st_mode), states);
		free(p);
		return;
	}
	d = opendir(dir);
	if (!d)
		return;
	while (!w->stop && (de = readdir(d)) != NULL) {
		enum entry_type type;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (++w->visits > GLOB_MAX_VISITS) {
			w->stop = true;
			break;
		}
		switch (de->d_type) {
		case DT_REG:
			type = ENT_FILE;
			break;
		case DT_DIR:
			type = ENT_DIR;
			break;
		case DT_LNK:
			type = ENT_LINK;
			break;
		case DT_UNKNOWN: {
			struct stat st;

			type = ENT_OTHER;
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				type = type_of_mode(st.st_mode);
			break;
		}
		default:
			type = ENT_OTHER;
			break;
		}
		entry(w, dir, de->d_name, type, states);
	}
	closedir(d);
}

static void
free_segs(struct glob_walk *w)
{
	int i;

	for (i = 0; i < w->nsegs; i++)
		if (w->segs[i] != GLOB_STAR)
			free(w->segs[i]);
	w->nsegs = 0;
}

/* One brace expansion: split into segments as minimatch does (empty and
 * "." segments dropped, runs of ** collapsed) and walk. */
static int
walk_pattern(void *ud, const char *pattern)
{
	struct glob_walk *w = ud;
	const char *s = pattern;
	size_t plen = strlen(pattern);

	if (w->stop)
		return 0;
	/* A trailing slash matches directories only: never a file. */
	if (plen > 0 && pattern[plen - 1] == '/')
		return 0;
	while (*s) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		if (n == 0 || (n == 1 && s[0] == '.')) {
			/* dropped */
		} else if (n == 2 && s[0] == '*' && s[1] == '*') {
			if (w->nsegs == 0 || w->segs[w->nsegs - 1] != GLOB_STAR) {
				if (w->nsegs == GLOB_MAX_SEGMENTS - 2)
					goto too_deep;
				w->segs[w->nsegs] = GLOB_STAR;
				w->magic[w->nsegs++] = true;
			}
		} else {
			char *seg;

			if (w->nsegs == GLOB_MAX_SEGMENTS - 2)
				goto too_deep;
			seg = strndup(s, n);
			if (!seg) {
				free_segs(w);
				return -ENOMEM;
			}
			w->magic[w->nsegs] = glob_seg_is_magic(seg);
			w->segs[w->nsegs++] = seg;
		}
		s += n;
		if (*s == '/')
			s++;
	}
	if (w->nsegs > 0)
		visit(w, w->root, 1);
	free_segs(w);
	return w->err;
too_deep:
	free_segs(w);
	return 0;
}

static int
cmp_match(const void *a, const void *b)
{
	const struct glob_match *x = a;
	const struct glob_match *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? 1 : -1;
	return strcmp(x->path, y->path);
}

int
tool_glob(struct ts_ctx *ctx, const struct json_doc *doc, int input, struct buf *out)
{
	struct glob_walk w;
	const char *pattern;
	char *real = NULL;
	char *pat = NULL;
	char *p;
	int p_tok;
	int path_tok;
	size_t i;
	int r;

	p_tok = ts_member(doc, input, "pattern");
	if (!ts_truthy(doc, p_tok))
		return buf_puts(out, "glob: pattern is required") ?: TS_TOOL_ERROR;
	pattern = json_str(doc, p_tok);
	if (!pattern)
		return buf_puts(out, "glob: pattern must be a string") ?: TS_TOOL_ERROR;
	if (pattern[0] == '/')
		return buf_puts(out, "glob: absolute pattern not permitted; pass a relative pattern "
				"(and optionally path)") ?: TS_TOOL_ERROR;
	/* Any piece equal to ".." once split on / \ { } , (patternCanAscend). */
	for (p = (char *)pattern; *p;) {
		size_t n = strcspn(p, "/\\{},");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return buf_puts(out, "glob: \"..\" is not permitted in the pattern") ?:
				TS_TOOL_ERROR;
		p += n;
		if (*p)
			p++;
	}

	memset(&w, 0, sizeof(w));
	path_tok = ts_member(doc, input, "path");
	if (ts_truthy(doc, path_tok)) {
		const char *sp = json_str(doc, path_tok);

		if (!sp)
			return buf_puts(out, "glob: path must be a string") ?: TS_TOOL_ERROR;
		r = confine_path(&ctx->root, sp, &real, out);
		if (r != 0)
			return r < 0 ? r : TS_TOOL_ERROR;
		w.root = real;
		w.real_root = real;
	} else {
		w.root = ctx->workdir;
		w.real_root = ctx->root.path;
	}

	/* minimatch with windowsPathsNoEscape reads every backslash as a
	 * separator. */
	pat = strdup(pattern);
	if (!pat) {
		r = -ENOMEM;
		goto done;
	}
	for (p = pat; *p; p++)
		if (*p == '\\')
			*p = '/';
	r = glob_brace_expand(pat, walk_pattern, &w);
	if (r == -E2BIG) {
		r = buf_puts(out, "glob: too many brace expansions") ?: TS_TOOL_ERROR;
		goto done;
	}
	if (r < 0)
		goto done;
	if (w.nmatches == 0) {
		r = buf_puts(out, "no matches");
		goto done;
	}
	qsort(w.matches, w.nmatches, sizeof(*w.matches), cmp_match);
	for (i = 0; i < w.nmatches && i < TS_GLOB_RESULTS && r == 0; i++) {
		if (i > 0)
			r = buf_putc(out, '\n');
		if (r == 0)
			r = buf_puts(out, w.matches[i].path);
	}
done:
	for (i = 0; i < w.seen_cap; i++)
		free(w.seen[i]);
	free(w.seen);
	free(w.matches);
	free(pat);
	free(real);
	return r;
}
