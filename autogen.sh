#!/bin/sh
# Generate ./configure and the Makefile templates from a fresh checkout.
set -e
cd "$(dirname "$0")"
autoreconf --force --install --warnings=all
