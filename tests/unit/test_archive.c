/* SPDX-License-Identifier: MIT */
/* The skill archive checks (core/archive.c) and the SHA-256 the memory
 * stores compare (core/sha256.c). */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "archive.h"
#include "sha256.h"

static int
check_one(const char *name, char *err, size_t errlen)
{
	struct strv v = STRV_INIT;
	int r;

	assert_int_equal(strv_push(&v, name), 0);
	r = archive_check_names(&v, err, errlen);
	strv_release(&v);
	return r;
}

static void
test_unsafe_names(void **state)
{
	static const char *const bad[] = {
		"/etc/passwd", "../x", "a/../../x", "a/..", "..", "a\\..\\x", " /abs ", "..\\x",
	};
	static const char *const good[] = {
		"a/b", "a..b/c", "..a/b", "a/b..", ".../x", "./a/b", "", "   ", "a/.hidden",
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(check_one(bad[i], err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "refusing to extract unsafe archive member: "));
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(check_one(good[i], err, sizeof(err)), 0);
	/* The message names the trimmed member. */
	check_one("  ../evil  ", err, sizeof(err));
	assert_string_equal(err, "refusing to extract unsafe archive member: ../evil");
}

static void
test_classify_zip(void **state)
{
	const char *names = "pdf/\npdf/SKILL.md\npdf/link\npdf/x\n";
	const char *typed = "drwxr-xr-x  2.0 unx        0 b- stor 80-Jan-01 00:00 pdf/\n"
			    "-rw-r--r--  2.0 unx       12 b- stor 80-Jan-01 00:00 pdf/SKILL.md\n"
			    "lrwxrwxrwx  2.0 unx       11 b- stor 80-Jan-01 00:00 pdf/link\n"
			    "?rw-------  2.0 fat       30 b- defN 80-Jan-01 00:00 pdf/x\n";
	struct archive_listing l = { STRV_INIT, STRV_INIT, 0 };
	char err[256] = "";

	assert_int_equal(archive_classify(ARCHIVE_UNZIP, names, typed, &l, err, sizeof(err)), 0);
	assert_int_equal(l.plain.n, 3);
	assert_int_equal(l.special.n, 1);
	assert_string_equal(l.special.v[0], "pdf/link");
	assert_int_equal(l.plain_bytes, 42);
	archive_listing_release(&l);
}

static void
test_classify_tar(void **state)
{
	const char *names = "./kit/\n./kit/SKILL.md\nkit/l\nkit/h\nkit/c\n";
	const char *typed =
		"drwxr-xr-x root/root         0 2020-09-13 12:26 ./kit/\n"
		"-rw-r--r-- root/root  20971520 2020-09-13 12:26 ./kit/SKILL.md\n"
		"lrw-r--r-- root/root         0 2020-09-13 12:26 kit/l -> /etc/passwd\n"
		"hrw-r--r-- root/root         0 2020-09-13 12:26 kit/h link to etc/passwd\n"
		"Crw-r--r-- root/root         5 2020-09-13 12:26 kit/c\n";
	struct archive_listing l = { STRV_INIT, STRV_INIT, 0 };
	char err[256] = "";

	assert_int_equal(archive_classify(ARCHIVE_TAR, names, typed, &l, err, sizeof(err)), 0);
	assert_int_equal(l.plain.n, 3);
	assert_int_equal(l.special.n, 2);
	assert_int_equal(l.plain_bytes, 20971525);
	archive_listing_release(&l);
}

static void
test_classify_refusals(void **state)
{
	struct archive_listing l = { STRV_INIT, STRV_INIT, 0 };
	char err[256] = "";

	/* The listings disagree. */
	assert_int_equal(archive_classify(ARCHIVE_TAR, "a\nb\n", "-rw-r--r-- u/g 1 d t a\n", &l,
					  err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "skill archive listing is inconsistent; refusing to extract");
	archive_listing_release(&l);
	/* A special member whose name cannot be excluded verbatim. */
	assert_int_equal(archive_classify(ARCHIVE_TAR, "a\\nb\n",
					  "lrwxrwxrwx u/g 0 d t a\\nb -> x\n", &l, err,
					  sizeof(err)),
			 -EINVAL);
	assert_string_equal(
		err, "refusing to extract archive: cannot safely exclude member \"a\\\\nb\"");
	archive_listing_release(&l);
	/* unzip would read a leading '-' as an option. */
	assert_int_equal(archive_classify(ARCHIVE_UNZIP, "-x\n",
					  "lrwxrwxrwx 2.0 unx 1 b- stor d t -x\n", &l, err,
					  sizeof(err)),
			 -EINVAL);
	archive_listing_release(&l);
	/* A plain member without a readable size. */
	assert_int_equal(archive_classify(ARCHIVE_UNZIP, "a\n",
					  "-rw-r--r--  2.0 unx  big b- stor d t a\n", &l, err,
					  sizeof(err)),
			 -EINVAL);
	archive_listing_release(&l);
}

static void
top(const char *const *names, size_t n, const char *want)
{
	struct strv v = STRV_INIT;
	char *t;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(strv_push(&v, names[i]), 0);
	t = archive_top_dir(&v);
	assert_non_null(t);
	assert_string_equal(t, want);
	free(t);
	strv_release(&v);
}

static void
test_top_dir(void **state)
{
	static const char *const wrapped[] = { "pdf/", "pdf/SKILL.md", "pdf/a/b" };
	static const char *const dotted[] = { "./", "./pdf/", "./pdf/SKILL.md" };
	static const char *const flat[] = { "a.txt", "b/c.txt" };
	static const char *const lone_file[] = { "pdf" };
	static const char *const lone_dir[] = { "pdf/" };

	top(wrapped, 3, "pdf");
	top(dotted, 3, "pdf");
	top(flat, 2, "");
	top(lone_file, 1, "");
	top(lone_dir, 1, "");
	top(NULL, 0, "");
}

static void
test_exclude_pattern_and_magic(void **state)
{
	char *p = archive_exclude_pattern("a*b?c[d]\\e");
	static const unsigned char pk[] = { 'P', 'K', 3, 4 };
	static const unsigned char gz[] = { 0x1f, 0x8b, 8, 0 };

	assert_string_equal(p, "a\\*b\\?c\\[d]\\\\e");
	free(p);
	assert_true(archive_is_zip(pk, 4));
	assert_false(archive_is_zip(gz, 4));
	assert_false(archive_is_zip(pk, 3));
}

static void
test_sha256(void **state)
{
	char hex[65];
	struct sha256 c;
	char million[1000];

	sha256_hex("", 0, hex);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* Fed in pieces that straddle blocks. */
	memset(million, 'a', sizeof(million));
	sha256_init(&c);
	for (int i = 0; i < 1000; i++)
		sha256_update(&c, million, sizeof(million));
	sha256_final_hex(&c, hex);
	assert_string_equal(hex,
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsafe_names),
		cmocka_unit_test(test_classify_zip),
		cmocka_unit_test(test_classify_tar),
		cmocka_unit_test(test_classify_refusals),
		cmocka_unit_test(test_top_dir),
		cmocka_unit_test(test_exclude_pattern_and_magic),
		cmocka_unit_test(test_sha256),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
