#!/bin/sh
# Generates ./configure from configure.ac. Needs autoconf, automake, libtool and
# Dovecot's dovecot.m4 (Debian: dovecot-dev) on the aclocal path.
set -e
cd "$(dirname "$0")"
autoreconf --force --install --verbose
