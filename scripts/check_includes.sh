#!/bin/sh
# scripts/check_includes.sh — checks the layering of docs/design.md on the
# #include "..." lines of the library, the examples and the benchmarks.
# Run by `make test`; prints every violation and exits 1 when there is one.
#
#   sh scripts/check_includes.sh
#
# Rules (a file's layer is its top directory):
#   core/   includes core/ only
#   nn/     core/ nn/
#   optim/  core/ optim/                (not nn/: tg_params is core/params.h)
#   data/   core/ data/
#   train/  core/ nn/ optim/ data/ train/
#   examples/, bench/: public headers only (tapegrad.h or any of the
#           library's headers that is not private) and their own directory;
#           no `tg__` name in examples/ at all.
# A private header (internal.h, *_internal.h) is included only from its own
# layer directory (core/ops/internal.h: from core/).  The public headers
# (tapegrad.h and everything it includes) declare no tg__ function, except
# core/error.h's tg__fail / tg__xmalloc / tg__xcalloc behind the TG_CHECK and
# tg_xmalloc macros.  The include graph has no cycle.
set -u
cd "$(dirname "$0")/.." || exit 2

edges=$(mktemp) || exit 2
trap 'rm -f "$edges"' EXIT

# "from to" for every quoted include; a name without '/' is resolved
# against the including file's directory.
for f in $(find core nn optim train data examples bench tapegrad.h \
             -name '*.[ch]' -o -name '*.inc' -o -name tapegrad.h | sort); do
  dir=$(dirname "$f")
  sed -n 's/^[ \t]*#[ \t]*include[ \t]*"\([^"]*\)".*/\1/p' "$f" | while read -r inc; do
    case $inc in
      */*) to=$inc ;;
      *) if [ "$dir" = . ]; then to=$inc; else to=$dir/$inc; fi ;;
    esac
    echo "$f $to"
  done
done >"$edges"

awk '
function layer(p) { sub(/\/.*/, "", p); return p }
function private(p) { return p ~ /(^|\/)internal\.h$/ || p ~ /_internal\.h$/ }
function allowed(from, to,   lf, lt) {
  lf = layer(from); lt = layer(to)
  if (lf == "core")  return lt == "core"
  if (lf == "nn")    return lt == "core" || lt == "nn"
  if (lf == "optim") return lt == "core" || lt == "optim"
  if (lf == "data")  return lt == "core" || lt == "data"
  if (lf == "train") return lt ~ /^(core|nn|optim|data|train)$/
  return 1
}
{
  from = $1; to = $2
  n_out[from]++; out[from, n_out[from]] = to; node[from] = 1; node[to] = 1
  if (!allowed(from, to)) { printf "layering: %s includes %s\n", from, to; bad = 1 }
  if (private(to)) {
    lt = layer(to); lf = layer(from)
    if (lf != lt || lf == "examples" || lf == "bench") {
      printf "private header: %s includes %s\n", from, to; bad = 1
    }
  }
}
# depth-first search with colours: 1 on the stack, 2 done
function dfs(v,   i, w) {
  colour[v] = 1; stack[++depth] = v
  for (i = 1; i <= n_out[v]; i++) {
    w = out[v, i]
    if (colour[w] == 1) {
      printf "cycle:"; for (j = 1; j <= depth; j++) if (j >= start_of(w)) printf " %s ->", stack[j]
      printf " %s\n", w; bad = 1
    } else if (!colour[w]) dfs(w)
  }
  depth--; colour[v] = 2
}
function start_of(w,   j) { for (j = 1; j <= depth; j++) if (stack[j] == w) return j; return 1 }
END {
  for (v in node) if (!colour[v]) dfs(v)
  exit bad
}' "$edges"
status=$?

# tg__ declarations in the public headers: the closure of tapegrad.h
public=$(awk -v root=tapegrad.h '
  { n[$1]++; o[$1, n[$1]] = $2 }
  function visit(v,   i) { if (seen[v]++) return; print v; for (i = 1; i <= n[v]; i++) visit(o[v, i]) }
  END { visit(root) }' "$edges")
for h in $public; do
  [ "$h" = core/error.h ] && continue
  [ -f "$h" ] || continue
  if grep -nE '^[A-Za-z_].*[^A-Za-z0-9_]tg__[A-Za-z0-9_]+[ ]*\(' "$h" | grep -v '^[0-9]*:#' >/dev/null; then
    grep -nE '^[A-Za-z_].*[^A-Za-z0-9_]tg__[A-Za-z0-9_]+[ ]*\(' "$h" | grep -v '^[0-9]*:#' |
      sed "s|^|private name in public header: $h:|"
    status=1
  fi
done

if grep -rn 'tg__' examples >/dev/null 2>&1; then
  grep -rn 'tg__' examples | sed 's/^/private name in an example: /'
  status=1
fi

[ $status -eq 0 ] && echo "check_includes: layering, private headers and cycles OK"
exit $status
