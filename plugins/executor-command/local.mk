# The command executor: hands each claimed item to a program with the
# contract of ant's `poll --on-work` (plugins/executor-command/command.c).
pkglib_LTLIBRARIES += plugins/executor-command.la
plugins_executor_command_la_SOURCES = plugins/executor-command/command.c
plugins_executor_command_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_executor_command_la_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_executor_command_la_LIBADD = libercommon.la
EXTRA_DIST += plugins/executor-command/local.mk

# The SDK's handleItem() as the program, the on-work contract, a lost lease,
# a killed program (tests/runner/command.mjs).
TESTS += tests/integration/executor-command.sh
EXTRA_DIST += tests/integration/executor-command.sh tests/runner/command.mjs tests/sdk/on-work.mjs
