/* SPDX-License-Identifier: MIT */
/* The key-file policy (core/keyfile.h), case by case: what a runner's own
 * file, a Kubernetes Secret volume (root-owned, 0440, fsGroup) and a
 * systemd credential (root-owned 0400 with an ACL entry for the runner)
 * look like, and each refusal with its exit status and its fix. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <cmocka.h>

#include "keyfile.h"

#define RUNNER 10001
#define FSGROUP 2000

static const gid_t runner_groups[] = { RUNNER, FSGROUP };
static const struct keyfile_ids runner = { RUNNER, runner_groups, 2 };
static const gid_t root_groups[] = { 0 };
static const struct keyfile_ids root_runner = { 0, root_groups, 1 };
static char err[512];

static int
judge(const struct keyfile_ids *ids, uid_t uid, gid_t gid, unsigned mode,
      const struct keyfile_acl_entry *acl, size_t n_acl)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | mode;
	st.st_uid = uid;
	st.st_gid = gid;
	err[0] = '\0';
	return keyfile_policy(&st, acl, n_acl, ids, "service key file", "/k", err, sizeof(err));
}

#define REFUSED(code, needle, call)                                                                \
	do {                                                                                       \
		assert_int_equal((call), (code));                                                  \
		if (!strstr(err, (needle)) || !strstr(err, "fix: "))                               \
			fail_msg("message '%s' lacks '%s' or a fix", err, (needle));               \
	} while (0)

static void
test_accepted(void **state)
{
	(void)state;
	assert_int_equal(judge(&runner, RUNNER, RUNNER, 0600, NULL, 0), 0);
	assert_int_equal(judge(&runner, RUNNER, RUNNER, 0400, NULL, 0), 0);
	/* A Secret volume with fsGroup, defaultMode 0400 or 0440. */
	assert_int_equal(judge(&runner, 0, FSGROUP, 0440, NULL, 0), 0);
	assert_int_equal(judge(&runner, 0, RUNNER, 0040, NULL, 0), 0);
	/* A root runner's own file. */
	assert_int_equal(judge(&root_runner, 0, 0, 0600, NULL, 0), 0);
	assert_int_equal(judge(&root_runner, 0, 0, 0400, NULL, 0), 0);
}

static void
test_systemd_credential(void **state)
{
	/* root:root 0400 plus user:<runner>:r: the group bits show the mask. */
	const struct keyfile_acl_entry cred[] = {
		{ KEYFILE_ACL_USER_OBJ, 4, 0 },	 { KEYFILE_ACL_USER, 4, RUNNER },
		{ KEYFILE_ACL_GROUP_OBJ, 0, 0 }, { KEYFILE_ACL_MASK, 4, 0 },
		{ KEYFILE_ACL_OTHER, 0, 0 },
	};
	const struct keyfile_acl_entry stranger[] = {
		{ KEYFILE_ACL_USER_OBJ, 4, 0 },	 { KEYFILE_ACL_USER, 4, 4242 },
		{ KEYFILE_ACL_GROUP_OBJ, 0, 0 }, { KEYFILE_ACL_MASK, 4, 0 },
		{ KEYFILE_ACL_OTHER, 0, 0 },
	};
	const struct keyfile_acl_entry writable[] = {
		{ KEYFILE_ACL_USER_OBJ, 6, 0 },	 { KEYFILE_ACL_USER, 6, RUNNER },
		{ KEYFILE_ACL_GROUP_OBJ, 0, 0 }, { KEYFILE_ACL_MASK, 6, 0 },
		{ KEYFILE_ACL_OTHER, 0, 0 },
	};
	const struct keyfile_acl_entry masked[] = {
		{ KEYFILE_ACL_USER_OBJ, 6, 0 },	 { KEYFILE_ACL_USER, 6, RUNNER },
		{ KEYFILE_ACL_GROUP_OBJ, 0, 0 }, { KEYFILE_ACL_MASK, 4, 0 },
		{ KEYFILE_ACL_OTHER, 0, 0 },
	};

	(void)state;
	assert_int_equal(judge(&runner, 0, 0, 0440, cred, 5), 0);
	/* The mask limits what an entry grants. */
	assert_int_equal(judge(&runner, 0, 0, 0640, masked, 5), 0);
	REFUSED(EX_CONFIG,
		"readable by user 4242, not the runner's, through its access control list",
		judge(&runner, 0, 0, 0440, stranger, 5));
	REFUSED(EX_CONFIG, "writable by user 10001 through its access control list",
		judge(&runner, 0, 0, 0660, writable, 5));
	/* Another user's credential. */
	REFUSED(EX_CONFIG, "readable by user 10001, not the runner's",
		judge(&(struct keyfile_ids){ 4242, runner_groups, 1 }, 0, 0, 0440, cred, 5));
}

static void
test_refused(void **state)
{
	(void)state;
	REFUSED(EX_CONFIG, "is readable by others (mode 0644); fix: chmod o-rw '/k'",
		judge(&runner, RUNNER, RUNNER, 0644, NULL, 0));
	REFUSED(EX_CONFIG, "is writable by others (mode 0602)",
		judge(&runner, RUNNER, RUNNER, 0602, NULL, 0));
	REFUSED(EX_CONFIG, "is readable by others (mode 0444)",
		judge(&runner, 0, FSGROUP, 0444, NULL, 0));
	REFUSED(EX_CONFIG, "is readable by its group (mode 0640); fix: chmod 600 '/k'",
		judge(&runner, RUNNER, RUNNER, 0640, NULL, 0));
	REFUSED(EX_CONFIG, "is writable by its group (mode 0460); fix: chmod g-w '/k'",
		judge(&runner, 0, FSGROUP, 0460, NULL, 0));
	REFUSED(EX_CONFIG,
		"is readable by group 3000, which the runner (uid 10001) is not in; fix: chgrp",
		judge(&runner, 0, 3000, 0440, NULL, 0));
	REFUSED(EX_CONFIG,
		"is owned by uid 4242, neither the runner's user (uid 10001) nor root; fix: chown "
		"10001 '/k'",
		judge(&runner, 4242, RUNNER, 0600, NULL, 0));
	/* A root runner's key readable by a group: the owner can make it private. */
	REFUSED(EX_CONFIG, "is readable by its group (mode 0440); fix: chmod 600",
		judge(&root_runner, 0, FSGROUP, 0440, NULL, 0));
	/* Root-owned and private to root: a Secret without fsGroup. */
	REFUSED(EX_NOINPUT,
		"(owner uid 0, mode 0400) is not readable by the runner (uid 10001); fix: make it "
		"0600 owned by the runner's user, or 0440 root-owned with the runner's group "
		"(Kubernetes: fsGroup)",
		judge(&runner, 0, 0, 0400, NULL, 0));
	REFUSED(EX_NOINPUT, "not readable by the runner",
		judge(&runner, RUNNER, RUNNER, 0200, NULL, 0));
}

static void
test_not_a_file(void **state)
{
	struct stat st;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR | 0700;
	st.st_uid = RUNNER;
	REFUSED(EX_CONFIG, "is not a regular file",
		keyfile_policy(&st, NULL, 0, &runner, "service key file", "/k", err, sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_systemd_credential),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_not_a_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
