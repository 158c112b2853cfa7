#!/bin/sh
# The alerting rules parse (promtool check rules) and each alert fires on the series that
# should fire it and on no other (promtool test rules, tests/deploy/alerts_test.yml).
# Usage: alerts.sh SOURCE_DIR. Exit 77 (skip) without promtool (`make test-deps` installs it).
set -eu
src=$1
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not installed (Debian package prometheus): skipped" >&2
  exit 77
fi
promtool check rules "$src/deploy/prometheus/alerts.yml"
cd "$src/tests/deploy"
promtool test rules alerts_test.yml
