# The toolset executor: the SDK's agent toolset (bash, read, write, edit,
# glob, grep) served natively.  The tools live in a convenience library so
# that the unit tests and the differential driver link the same code as the
# plugin.
TOOLSET_CPPFLAGS = $(PLUGIN_CPPFLAGS) -I$(top_srcdir)/plugins/executor-toolset

noinst_LTLIBRARIES += plugins/executor-toolset/libtoolset.la
plugins_executor_toolset_libtoolset_la_SOURCES = \
	plugins/executor-toolset/toolset.h \
	plugins/executor-toolset/util.c \
	plugins/executor-toolset/confine.c plugins/executor-toolset/confine.h \
	plugins/executor-toolset/fs-errors.c plugins/executor-toolset/fs-errors.h \
	plugins/executor-toolset/tool-read.c \
	plugins/executor-toolset/tool-write.c \
	plugins/executor-toolset/tool-edit.c \
	plugins/executor-toolset/glob-match.c plugins/executor-toolset/glob-match.h \
	plugins/executor-toolset/tool-glob.c \
	plugins/executor-toolset/tool-grep.c \
	plugins/executor-toolset/tool-bash.c
plugins_executor_toolset_libtoolset_la_CPPFLAGS = $(TOOLSET_CPPFLAGS)

pkglib_LTLIBRARIES += plugins/executor-toolset.la
plugins_executor_toolset_la_SOURCES = plugins/executor-toolset/toolset.c
plugins_executor_toolset_la_CPPFLAGS = $(TOOLSET_CPPFLAGS)
plugins_executor_toolset_la_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_executor_toolset_la_LIBADD = plugins/executor-toolset/libtoolset.la libercommon.la -lm
EXTRA_DIST += plugins/executor-toolset/local.mk

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_toolset
tests_unit_test_toolset_SOURCES = tests/unit/test_toolset.c
tests_unit_test_toolset_CPPFLAGS = $(TOOLSET_CPPFLAGS)
tests_unit_test_toolset_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_toolset_LDADD = plugins/executor-toolset/libtoolset.la $(UNIT_LINK_LIBS) -lm
TESTS += tests/unit/test_toolset
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_toolset_async
tests_unit_test_toolset_async_SOURCES = tests/unit/test_toolset_async.c \
	plugins/executor-toolset/toolset.c tests/lib/mock-host.c tests/lib/mock-host.h
tests_unit_test_toolset_async_CPPFLAGS = $(TOOLSET_CPPFLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_toolset_async_CFLAGS = $(UNIT_COMPILE_FLAGS)
tests_unit_test_toolset_async_LDADD = plugins/executor-toolset/libtoolset.la $(UNIT_LINK_LIBS) -lm
TESTS += tests/unit/test_toolset_async
endif

# The differential test against the SDK's toolset (tests/sdk/toolset-diff.mjs).
check_PROGRAMS += tests/toolset-driver
tests_toolset_driver_SOURCES = tests/toolset-driver.c \
	plugins/executor-toolset/toolset.c tests/lib/mock-host.c tests/lib/mock-host.h
tests_toolset_driver_CPPFLAGS = $(TOOLSET_CPPFLAGS) -I$(top_srcdir)/tests/lib
tests_toolset_driver_LDADD = plugins/executor-toolset/libtoolset.la libercommon.la -lm
TESTS += tests/integration/toolset-diff.sh
EXTRA_DIST += tests/integration/toolset-diff.sh tests/sdk/toolset-diff.mjs
