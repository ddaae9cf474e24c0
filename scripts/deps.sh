#!/bin/sh
# Checks the Debian packages tapegrad needs and installs the missing ones.
#
#   sh scripts/deps.sh [--install] REQUIRED... [-- OPTIONAL...]
#
# One dpkg-query over every package (a package counts as present only when
# dpkg says "installed": a removed package whose configuration files remain
# does not count).  When something is missing:
#   as root       apt-get update, apt-get install -y the missing packages
#                 (required and optional), then check again;
#   not as root   required ones missing: print the exact apt-get line to run
#                 as root and exit 1 (make stops); only optional ones missing:
#                 say so (the tests that need them print SKIPPED), exit 0.
# --install: `make deps` (also says when everything is present); without it
# (`make test`, `make demo`) silence when nothing is missing.
# Not on Debian (no dpkg-query): a warning, exit 0.
set -u

install=0
[ "${1:-}" = "--install" ] && { install=1; shift; }
req=""; opt=""; side=req
for p in "$@"; do
  if [ "$p" = "--" ]; then side=opt; continue; fi
  if [ $side = req ]; then req="$req $p"; else opt="$opt $p"; fi
done

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps: dpkg-query not found (not Debian?): cannot check for$req$opt" >&2
  exit 0
fi

# Sets $missing to those of the given packages dpkg does not call installed.
find_missing() {
  present=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null |
            awk '$2 == "installed" {print $1}')
  missing=""
  for p in "$@"; do
    printf '%s\n' "$present" | grep -qx "$p" || missing="$missing $p"
  done
}

all="$req$opt"
# shellcheck disable=SC2086
find_missing $all
if [ -z "$missing" ]; then
  [ $install = 1 ] && echo "deps: all Debian packages present:$all"
  exit 0
fi

if [ "$(id -u)" = 0 ]; then
  echo "deps: installing the missing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  apt-get update -qq && apt-get install -y -qq $missing || {
    echo "deps: apt-get install failed for:$missing" >&2; exit 1; }
  # shellcheck disable=SC2086
  find_missing $all
  if [ -n "$missing" ]; then echo "deps: still missing after apt-get:$missing" >&2; exit 1; fi
  echo "deps: done"
  exit 0
fi

# shellcheck disable=SC2086
find_missing $req
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086
  find_missing $all
  echo "deps: missing Debian packages:$missing" >&2
  echo "deps: run as root:  apt-get install -y$missing" >&2
  echo "deps: (or run this make command as root: it installs them itself)" >&2
  exit 1
fi
# shellcheck disable=SC2086
find_missing $opt
echo "deps: optional Debian packages not installed:$missing (the tests that need them print SKIPPED;" \
     "as root: apt-get install -y$missing)" >&2
exit 0
