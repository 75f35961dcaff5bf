/* SPDX-License-Identifier: MIT */
/*
 * The memory stores' building blocks: the hashed map (sets, finds and
 * deletes agree with a plain list at every step), when a cached hash still
 * holds, and the file store's walk and accessors, which never follow a link
 * the session planted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fsutil.h"
#include "memory-files.h"
#include "memory-map.h"

#define N_KEYS 5000

static void
key(char *out, size_t n, int i)
{
	snprintf(out, n, "dir%d/file-%d.md", i % 37, i);
}

static void
test_map_against_list(void **state)
{
	struct memory_map m = { 0 };
	static bool present[N_KEYS];
	char k[64];

	(void)state;
	for (int i = 0; i < N_KEYS; i++) {
		key(k, sizeof(k), i);
		assert_non_null(memory_map_set(&m, k, "aa"));
		present[i] = true;
	}
	/* Setting again finds, not adds. */
	key(k, sizeof(k), 7);
	assert_string_equal(memory_map_set(&m, k, "bb")->sha, "bb");
	assert_int_equal(m.n, N_KEYS);
	/* Delete every third, and some twice, and some never set. */
	for (int i = 0; i < N_KEYS; i += 3) {
		key(k, sizeof(k), i);
		memory_map_del(&m, k);
		memory_map_del(&m, k);
		present[i] = false;
	}
	memory_map_del(&m, "not/there");
	for (int i = 0; i < N_KEYS; i++) {
		const struct memory_entry *e;

		key(k, sizeof(k), i);
		e = memory_map_find(&m, k);
		if (present[i] != (e != NULL))
			fail_msg("%s: present %d, found %d", k, present[i], e != NULL);
		if (e)
			assert_string_equal(e->rel, k);
	}
	/* Every entry is reachable by its own name. */
	for (size_t i = 0; i < m.n; i++)
		assert_ptr_equal(memory_map_find(&m, m.v[i].rel), &m.v[i]);
	memory_map_clear(&m);
	assert_null(memory_map_find(&m, "dir0/file-1.md"));
	assert_null(memory_map_sha(&m, "x"));
}

/* A cached hash holds only while every field of the stamp does. */
static void
test_stamp_holds(void **state)
{
	static const struct memory_stamp base = { 8, 1234, 100, 1700000000, 5 };
	static const struct {
		struct memory_stamp now;
		bool holds;
	} rows[] = {
		{ { 8, 1234, 100, 1700000000, 5 }, true },
		{ { 9, 1234, 100, 1700000000, 5 }, false }, /* another file system */
		{ { 8, 1235, 100, 1700000000, 5 }, false }, /* replaced (a rename over it) */
		{ { 8, 1234, 101, 1700000000, 5 }, false }, /* grown */
		{ { 8, 1234, 100, 1700000001, 5 }, false }, /* written a second later */
		{ { 8, 1234, 100, 1700000000, 6 }, false }, /* the same second, same size */
	};
	static const struct memory_stamp unset = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (memory_stamp_holds(&base, &rows[i].now) != rows[i].holds)
			fail_msg("row %zu: holds %d", i, !rows[i].holds);
	}
	/* A hash kept without a stamp (a racy one) never holds. */
	assert_false(memory_stamp_holds(&unset, &unset));
}

/* A file written just before the walk may change again within the same
 * mtime tick: its hash is not cached. */
static void
test_stamp_settled(void **state)
{
	struct memory_stamp s = { 8, 1234, 100, 1000, 0 };

	(void)state;
	assert_true(memory_stamp_settled(&s, 1000 + MEMORY_RACY_SEC + 1));
	assert_false(memory_stamp_settled(&s, 1000 + MEMORY_RACY_SEC));
	assert_false(memory_stamp_settled(&s, 1000));
	s.mtime_sec = 2000; /* in the future: a clock set back */
	assert_false(memory_stamp_settled(&s, 1000));
}

static char root[] = "/tmp/er-memory-store.XXXXXX";
static char outside[] = "/tmp/er-memory-outside.XXXXXX";

static void
write_file(const char *dir, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
setup(void **state)
{
	char path[512];
	char link[512];

	(void)state;
	if (!mkdtemp(root) || !mkdtemp(outside))
		return -1;
	write_file(outside, "secret", "outside");
	snprintf(path, sizeof(path), "%s/sub", root);
	mkdir(path, 0700);
	write_file(root, "top.md", "top");
	write_file(root, "sub/inner.md", "inner");
	snprintf(path, sizeof(path), "%s/secret", outside);
	snprintf(link, sizeof(link), "%s/link.md", root);
	if (symlink(path, link) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/dirlink", root);
	if (symlink(outside, path) < 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	fsutil_remove_tree(root);
	fsutil_remove_tree(outside);
	return 0;
}

static void
test_walk_lists_regular_files_only(void **state)
{
	struct memory_walk w = MEMORY_WALK_INIT;
	struct memory_walk_file f;
	struct memory_map seen = { 0 };
	char hex[65];
	int r;

	(void)state;
	assert_int_equal(memory_walk_open(&w, root), 0);
	while ((r = memory_walk_next(&w, &f)) > 0) {
		struct memory_stamp stamp;

		assert_int_equal(memory_files_hash_at(f.dirfd, f.name, hex, &stamp), 0);
		assert_int_equal(stamp.size, f.sb.st_size);
		memory_map_set(&seen, f.rel, hex);
	}
	assert_int_equal(r, 0);
	memory_walk_close(&w);
	assert_int_equal(seen.n, 2);
	assert_non_null(memory_map_find(&seen, "top.md"));
	assert_non_null(memory_map_find(&seen, "sub/inner.md"));
	assert_int_equal(memory_files_hash(root, "sub/inner.md", hex), 0);
	assert_string_equal(hex, memory_map_sha(&seen, "sub/inner.md"));
	memory_map_clear(&seen);
}

static void
test_links_are_not_followed(void **state)
{
	struct buf out = BUF_INIT(1024);
	char hex[65];
	char path[512];
	struct stat sb;

	(void)state;
	assert_int_equal(memory_files_get(root, "link.md", &out), -ELOOP);
	assert_int_equal(memory_files_hash(root, "link.md", hex), -ENOENT);
	assert_int_equal(memory_files_hash(root, "dirlink/secret", hex), -ENOENT);
	assert_int_equal(memory_files_get(root, "dirlink/secret", &out), -ENOENT);
	assert_true(memory_files_put(root, "dirlink/planted", "x", 1) < 0);
	snprintf(path, sizeof(path), "%s/planted", outside);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(memory_files_remove(root, "dirlink/secret"), -ENOTDIR);
	assert_int_equal(memory_files_get(root, "../escape", &out), -EXDEV);
	buf_release(&out);
}

static void
test_put_get_remove(void **state)
{
	struct buf out = BUF_INIT(1024);

	(void)state;
	assert_int_equal(memory_files_put(root, "new/deep/note.md", "hello", 5), 0);
	assert_int_equal(memory_files_get(root, "/new//deep/./note.md", &out), 0);
	assert_string_equal(out.data, "hello");
	assert_int_equal(memory_files_put(root, "new/", "x", 1), -EISDIR);
	assert_int_equal(memory_files_remove(root, "new/deep/note.md"), 0);
	assert_int_equal(memory_files_remove(root, "new/deep/note.md"), -ENOENT);
	assert_int_equal(memory_files_hash(root, "new/deep/note.md", (char[65]){ 0 }), -ENOENT);
	buf_release(&out);
}

/* A file past the cap is neither read nor hashed. */
static void
test_file_cap(void **state)
{
	char path[512];
	char hex[65];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/big.md", root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)MEMORY_MAX_FILE_BYTES + 1), 0);
	close(fd);
	assert_int_equal(memory_files_hash(root, "big.md", hex), -ENOSPC);
	unlink(path);
}

/* A folder nested past the walk's depth ends the walk with -ELOOP. */
static void
test_walk_depth(void **state)
{
	struct memory_walk w = MEMORY_WALK_INIT;
	struct memory_walk_file f;
	char path[8192];
	size_t n = (size_t)snprintf(path, sizeof(path), "%s/deep", root);
	int r;

	(void)state;
	for (int i = 0; i < MEMORY_MAX_WALK_DEPTH + 1; i++) {
		assert_int_equal(mkdir(path, 0700), 0);
		n += (size_t)snprintf(path + n, sizeof(path) - n, "/d");
	}
	assert_int_equal(memory_walk_open(&w, root), 0);
	while ((r = memory_walk_next(&w, &f)) > 0)
		;
	memory_walk_close(&w);
	assert_int_equal(r, -ELOOP);
	snprintf(path, sizeof(path), "%s/deep", root);
	fsutil_remove_tree(path);
}

int
main(void)
{
	const struct CMUnitTest map_tests[] = {
		cmocka_unit_test(test_map_against_list),
		cmocka_unit_test(test_stamp_holds),
		cmocka_unit_test(test_stamp_settled),
	};
	const struct CMUnitTest file_tests[] = {
		cmocka_unit_test(test_walk_lists_regular_files_only),
		cmocka_unit_test(test_links_are_not_followed),
		cmocka_unit_test(test_put_get_remove),
		cmocka_unit_test(test_file_cap),
		cmocka_unit_test(test_walk_depth),
	};

	return cmocka_run_group_tests(map_tests, NULL, NULL) |
	       cmocka_run_group_tests(file_tests, setup, teardown);
}
