/* SPDX-License-Identifier: MIT */
/*
 * glob: files under the workdir matching a pattern, newest first (the
 * SDK's betaGlobTool over Node 22's fs.glob).
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

#define GLOB_MAX_SEGMENTS 64
#define GLOB_MAX_VISITS 1000000 /* directory entries examined, all patterns */
#define GLOB_STAR ((char *)1)

struct glob_match {
	char *path;
	double mtime;
	size_t order; /* yield order: fs.glob's, kept for equal mtimes */
};

/* One brace expansion, split into segments. */
struct glob_pat {
	char *segs[GLOB_MAX_SEGMENTS];
	bool magic[GLOB_MAX_SEGMENTS];
	int nsegs;
};

/* A pattern's state at a directory: which segment indexes its entries are
 * to match, and which of those were reached through a symlink. */
struct gq_pat {
	size_t k;
	uint64_t states;
	uint64_t symlinks;
};

/* A directory waiting to be read, with the patterns active there. */
struct gq_item {
	char *dir;
	struct gq_pat *pats;
	size_t npats;
	size_t cap;
};

enum entry_type { ENT_OTHER, ENT_FILE, ENT_DIR, ENT_LINK };

struct gentry {
	char *name;
	enum entry_type type;
};

struct glob_walk {
	const char *root;      /* search root as the results print it */
	const char *real_root; /* canonical, for the containment check */
	struct glob_pat *pats;
	size_t npats;
	size_t pats_cap;
	/* fs.glob's queue: a stack, the last pushed directory is read first. */
	struct gq_item *stack;
	size_t nstack;
	size_t stack_cap;
	/* The subdirectories found while reading one directory, in order. */
	struct gq_item *kids;
	size_t nkids;
	size_t kids_cap;
	size_t *kid_index; /* open addressing: kid + 1, 0 free */
	size_t kid_index_cap;
	/* Entries yielded so far, files or not (fs.glob's yield count). */
	unsigned yielded;
	unsigned long visits;
	bool stop;
	int err;
	/* Every yielded path (open addressing). */
	char **seen;
	size_t nseen;
	size_t seen_cap; /* a power of two */
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

static void
fail(struct glob_walk *w, int err)
{
	if (!w->err)
		w->err = err;
	w->stop = true;
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

/* fs.glob yields `full`: count it once, and keep it when it is a regular
 * file inside the root.  Takes ownership of `full`. */
static void
yield_path(struct glob_walk *w, char *full, bool is_file)
{
	struct stat st;
	char *real;
	bool inside;
	int r;

	if (w->stop) {
		free(full);
		return;
	}
	r = seen_add(w, full);
	if (r != 0) {
		free(full);
		if (r < 0)
			fail(w, r);
		return;
	}
	/* The SDK stops at the 50 001st entry. */
	if (w->yielded >= TS_WALK_MAX_ENTRIES) {
		w->stop = true;
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
			fail(w, -ENOMEM);
			return;
		}
		w->matches = nm;
		w->matches_cap = ncap;
	}
	w->matches[w->nmatches].path = full;
	w->matches[w->nmatches].mtime =
		stat(full, &st) == 0
			? (double)st.st_mtim.tv_sec * 1000.0 + (double)st.st_mtim.tv_nsec / 1e6
			: 0;
	w->matches[w->nmatches].order = w->nmatches;
	w->nmatches++;
}

static void
yield(struct glob_walk *w, const char *dir, const char *name, bool is_file)
{
	char *full = join_path(dir, name);

	if (!full) {
		fail(w, -ENOMEM);
		return;
	}
	yield_path(w, full, is_file);
}

static bool
seg_test(const struct glob_pat *p, int i, const char *name)
{
	const char *seg;

	if (i >= p->nsegs)
		return false;
	seg = p->segs[i];
	if (seg == GLOB_STAR)
		return true;
	if (!p->magic[i])
		return strcmp(seg, name) == 0;
	/* minimatch without `dot`: a wildcard never matches a leading '.'
	 * unless the pattern itself starts with one. */
	if (name[0] == '.' && seg[0] != '.')
		return false;
	return glob_seg_match(seg, name);
}

static bool
is_literal(const struct glob_pat *p, int i)
{
	return p->segs[i] != GLOB_STAR && !p->magic[i];
}

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

static void
item_release(struct gq_item *it)
{
	free(it->dir);
	free(it->pats);
	memset(it, 0, sizeof(*it));
}

static int
item_add(struct gq_item *it, size_t k, uint64_t states, uint64_t symlinks)
{
	if (it->npats == it->cap) {
		size_t ncap = it->cap ? it->cap * 2 : 4;
		struct gq_pat *np = realloc(it->pats, ncap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		it->pats = np;
		it->cap = ncap;
	}
	it->pats[it->npats++] = (struct gq_pat){ k, states, symlinks };
	return 0;
}

/* The pending subdirectory `name` of `dir`, created on first use. */
static struct gq_item *
kid_get(struct glob_walk *w, const char *dir, const char *name)
{
	size_t i;
	size_t h;

	if ((w->nkids + 1) * 2 > w->kid_index_cap) {
		size_t ncap = w->kid_index_cap ? w->kid_index_cap * 2 : 64;
		size_t *ni = calloc(ncap, sizeof(*ni));

		if (!ni)
			return NULL;
		for (i = 0; i < w->nkids; i++) {
			for (h = hash_str(strrchr(w->kids[i].dir, '/') + 1) & (ncap - 1); ni[h];
			     h = (h + 1) & (ncap - 1))
				;
			ni[h] = i + 1;
		}
		free(w->kid_index);
		w->kid_index = ni;
		w->kid_index_cap = ncap;
	}
	for (h = hash_str(name) & (w->kid_index_cap - 1); w->kid_index[h];
	     h = (h + 1) & (w->kid_index_cap - 1)) {
		struct gq_item *it = &w->kids[w->kid_index[h] - 1];

		if (strcmp(strrchr(it->dir, '/') + 1, name) == 0)
			return it;
	}
	if (w->nkids == w->kids_cap) {
		size_t ncap = w->kids_cap ? w->kids_cap * 2 : 16;
		struct gq_item *nk = realloc(w->kids, ncap * sizeof(*nk));

		if (!nk)
			return NULL;
		w->kids = nk;
		w->kids_cap = ncap;
	}
	memset(&w->kids[w->nkids], 0, sizeof(w->kids[0]));
	w->kids[w->nkids].dir = join_path(dir, name);
	if (!w->kids[w->nkids].dir)
		return NULL;
	w->kid_index[h] = ++w->nkids;
	return &w->kids[w->nkids - 1];
}

static int
cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct gentry *)a)->name, ((const struct gentry *)b)->name);
}

static void
free_entries(struct gentry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

/* readdir, in the order Node lists names (libuv sorts them with strcmp). */
static int
list_dir(struct glob_walk *w, const char *dir, struct gentry **ret, size_t *ret_n)
{
	struct gentry *v = NULL;
	size_t n = 0;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;

	*ret = NULL;
	*ret_n = 0;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
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
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct gentry *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv)
				goto oom;
			v = nv;
			cap = ncap;
		}
		v[n].name = strdup(de->d_name);
		if (!v[n].name)
			goto oom;
		v[n++].type = type;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_entries);
	*ret = v;
	*ret_n = n;
	return 0;
oom:
	closedir(d);
	free_entries(v, n);
	return -ENOMEM;
}

/* One entry of `dir` against pattern `gp`: yields and subdirectory
 * states, as fs.glob's #iterateSubpatterns computes them. */
static void
match_entry(struct glob_walk *w, const char *dir, const struct gq_pat *gp, const char *name,
	    enum entry_type type)
{
	const struct glob_pat *p = &w->pats[gp->k];
	int last = p->nsegs - 1;
	bool is_last = gp->states & (UINT64_C(1) << last);
	uint64_t child = 0;
	uint64_t nsym = 0;
	int i;

	for (i = 0; i <= last && !w->stop; i++) {
		const char *seg = p->segs[i];

		if (!(gp->states & (UINT64_C(1) << i)))
			continue;
		if (seg == GLOB_STAR) {
			bool from_symlink = gp->symlinks & (UINT64_C(1) << i);
			bool next;

			if (name[0] == '.' || is_excluded(name)) {
				/* Not crossed by **; a following segment may
				 * still name it. */
				if (is_excluded(name))
					continue;
				next = seg_test(p, i + 1, name);
				if (next && i + 1 == last && !is_last)
					yield(w, dir, name, type == ENT_FILE);
				else if (next && type == ENT_DIR)
					child |= UINT64_C(1) << (i + 2);
				if (next && (type == ENT_DIR || type == ENT_LINK) && !from_symlink)
					child |= UINT64_C(1) << (i + 1);
				continue;
			}
			if (!from_symlink && type == ENT_DIR)
				child |= UINT64_C(1) << i;
			else if (!from_symlink && i == last)
				yield(w, dir, name, type == ENT_FILE);
			next = seg_test(p, i + 1, name);
			if (next && i + 1 == last && !is_last)
				yield(w, dir, name, type == ENT_FILE);
			else if (next && type == ENT_DIR)
				child |= UINT64_C(1) << (i + 2);
			if (next && (type == ENT_DIR || type == ENT_LINK) && !from_symlink)
				child |= UINT64_C(1) << (i + 1);
			if (type == ENT_LINK)
				nsym |= UINT64_C(1) << i;
		} else if (!p->magic[i]) {
			if (i != last && strcmp(seg, name) == 0)
				child |= UINT64_C(1) << (i + 1);
		} else if (seg_test(p, i, name)) {
			if (i == last)
				yield(w, dir, name, type == ENT_FILE);
			else if (type == ENT_DIR)
				child |= UINT64_C(1) << (i + 1);
		}
	}
	child &= last + 1 >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << (last + 1)) - 1;
	if (child && !w->stop && !is_excluded(name)) {
		struct gq_item *kid = kid_get(w, dir, name);

		if (!kid || item_add(kid, gp->k, child, nsym) < 0)
			fail(w, -ENOMEM);
	}
}

/* Pattern `gp` at directory `dir`.  `entries` caches the listing, read on
 * first need. */
static void
process(struct glob_walk *w, const char *dir, const struct gq_pat *gp, struct gentry **entries,
	size_t *nentries, bool *listed)
{
	const struct glob_pat *p = &w->pats[gp->k];
	int last = p->nsegs - 1;
	uint64_t last_bit = UINT64_C(1) << last;
	struct stat st;
	bool have_st;
	bool is_dir;
	int only = -1;
	int i;

	have_st = lstat(dir, &st) == 0;
	is_dir = have_st &&
		 (S_ISDIR(st.st_mode) || (S_ISLNK(st.st_mode) && (gp->states & ~gp->symlinks)));
	if (gp->states & last_bit) {
		if (is_literal(p, last)) {
			char *full = join_path(dir, p->segs[last]);
			struct stat lst;

			if (!full) {
				fail(w, -ENOMEM);
				return;
			}
			if (lstat(full, &lst) == 0)
				yield_path(w, full, S_ISREG(lst.st_mode));
			else
				free(full);
			if (gp->states == last_bit)
				return;
		} else if (p->segs[last] == GLOB_STAR && have_st &&
			   (strcmp(dir, w->root) != 0 || last == 0)) {
			char *full = strdup(dir);

			if (!full) {
				fail(w, -ENOMEM);
				return;
			}
			yield_path(w, full, false);
		}
	}
	if (!is_dir || w->stop)
		return;
	for (i = 0; i <= last; i++)
		if (gp->states & (UINT64_C(1) << i))
			only = only == -1 ? i : -2;
	if (only >= 0 && is_literal(p, only)) {
		char *full = join_path(dir, p->segs[only]);
		struct stat cst;

		if (!full) {
			fail(w, -ENOMEM);
			return;
		}
		if (lstat(full, &cst) == 0)
			match_entry(w, dir, gp, p->segs[only], type_of_mode(cst.st_mode));
		free(full);
		return;
	}
	if (!*listed) {
		int r = list_dir(w, dir, entries, nentries);

		*listed = true;
		if (r < 0) {
			fail(w, r);
			return;
		}
	}
	for (size_t e = 0; e < *nentries && !w->stop; e++)
		match_entry(w, dir, gp, (*entries)[e].name, (*entries)[e].type);
}

static int
stack_push(struct glob_walk *w, struct gq_item *it)
{
	if (w->nstack == w->stack_cap) {
		size_t ncap = w->stack_cap ? w->stack_cap * 2 : 64;
		struct gq_item *ns = realloc(w->stack, ncap * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		w->stack = ns;
		w->stack_cap = ncap;
	}
	w->stack[w->nstack++] = *it;
	return 0;
}

/* fs.glob's loop: pop a directory, run every pattern active there over
 * its entries, then push its subdirectories in the order they came up. */
static void
run_queue(struct glob_walk *w)
{
	struct gq_item root;
	size_t k;

	memset(&root, 0, sizeof(root));
	root.dir = strdup(w->root);
	if (!root.dir) {
		fail(w, -ENOMEM);
		return;
	}
	for (k = 0; k < w->npats; k++) {
		if (item_add(&root, k, 1, 0) < 0) {
			item_release(&root);
			fail(w, -ENOMEM);
			return;
		}
	}
	if (stack_push(w, &root) < 0) {
		item_release(&root);
		fail(w, -ENOMEM);
		return;
	}
	while (w->nstack > 0) {
		struct gq_item it = w->stack[--w->nstack];
		struct gentry *entries = NULL;
		size_t nentries = 0;
		bool listed = false;
		size_t i;

		w->nkids = 0;
		if (w->kid_index)
			memset(w->kid_index, 0, w->kid_index_cap * sizeof(*w->kid_index));
		for (i = 0; i < it.npats && !w->stop; i++)
			process(w, it.dir, &it.pats[i], &entries, &nentries, &listed);
		free_entries(entries, nentries);
		item_release(&it);
		for (i = 0; i < w->nkids; i++) {
			if (w->stop || stack_push(w, &w->kids[i]) < 0) {
				if (!w->stop)
					fail(w, -ENOMEM);
				item_release(&w->kids[i]);
			}
		}
		w->nkids = 0;
		if (w->stop)
			break;
	}
	while (w->nstack > 0)
		item_release(&w->stack[--w->nstack]);
}

static void
free_pat(struct glob_pat *p)
{
	int i;

	for (i = 0; i < p->nsegs; i++)
		if (p->segs[i] != GLOB_STAR)
			free(p->segs[i]);
	p->nsegs = 0;
}

/* One brace expansion: split into segments as minimatch does (empty and
 * "." segments dropped, runs of ** collapsed). */
static int
add_pattern(void *ud, const char *pattern)
{
	struct glob_walk *w = ud;
	const char *s = pattern;
	size_t plen = strlen(pattern);
	struct glob_pat p;

	/* A trailing slash matches directories only: never a file. */
	if (plen > 0 && pattern[plen - 1] == '/')
		return 0;
	memset(&p, 0, sizeof(p));
	while (*s) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		if (n == 0 || (n == 1 && s[0] == '.')) {
			/* dropped */
		} else if (n == 2 && s[0] == '*' && s[1] == '*') {
			if (p.nsegs == 0 || p.segs[p.nsegs - 1] != GLOB_STAR) {
				if (p.nsegs == GLOB_MAX_SEGMENTS - 2)
					goto too_deep;
				p.segs[p.nsegs] = GLOB_STAR;
				p.magic[p.nsegs++] = true;
			}
		} else {
			char *seg;

			if (p.nsegs == GLOB_MAX_SEGMENTS - 2)
				goto too_deep;
			seg = strndup(s, n);
			if (!seg) {
				free_pat(&p);
				return -ENOMEM;
			}
			p.magic[p.nsegs] = glob_seg_is_magic(seg);
			p.segs[p.nsegs++] = seg;
		}
		s += n;
		if (*s == '/')
			s++;
	}
	if (p.nsegs == 0)
		return 0;
	if (w->npats == w->pats_cap) {
		size_t ncap = w->pats_cap ? w->pats_cap * 2 : 8;
		struct glob_pat *np = realloc(w->pats, ncap * sizeof(*np));

		if (!np) {
			free_pat(&p);
			return -ENOMEM;
		}
		w->pats = np;
		w->pats_cap = ncap;
	}
	w->pats[w->npats++] = p;
	return 0;
too_deep:
	free_pat(&p);
	return 0;
}

static int
cmp_match(const void *a, const void *b)
{
	const struct glob_match *x = a;
	const struct glob_match *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? 1 : -1;
	/* Array.prototype.sort is stable: equal times keep the walk's order. */
	return x->order < y->order ? -1 : x->order > y->order;
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
		return buf_puts(out,
				"glob: absolute pattern not permitted; pass a relative pattern "
				"(and optionally path)")
			       ?: TS_TOOL_ERROR;
	/* Any piece equal to ".." once split on / \ { } , (patternCanAscend). */
	for (p = (char *)pattern; *p;) {
		size_t n = strcspn(p, "/\\{},");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return buf_puts(out, "glob: \"..\" is not permitted in the pattern")
				       ?: TS_TOOL_ERROR;
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
		r = ts_confine(ctx, "glob", sp, &real, NULL, out);
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
	r = glob_brace_expand(pat, add_pattern, &w);
	if (r == -E2BIG) {
		r = buf_puts(out, "glob: too many brace expansions") ?: TS_TOOL_ERROR;
		goto done;
	}
	if (r < 0)
		goto done;
	if (w.npats > 0)
		run_queue(&w);
	r = w.err;
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
	for (i = 0; i < w.npats; i++)
		free_pat(&w.pats[i]);
	free(w.pats);
	free(w.kids);
	free(w.kid_index);
	free(w.stack);
	free(w.matches);
	free(pat);
	free(real);
	return r;
}
