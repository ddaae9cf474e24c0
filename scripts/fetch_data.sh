#!/bin/sh
# scripts/fetch_data.sh — place the datasets of shared/data/README.md in ./data
# and verify every file against data.sha256 (a copy of the mirror's SHA256SUMS:
# "<sha256>  <path relative to data/>" per line). Run by `make data`.
#
#   DATA_MIRROR=/path/to/shared/data sh scripts/fetch_data.sh   # copy from a mirror
#   DATA_MIRROR= sh scripts/fetch_data.sh                       # no mirror: download
#
# Mirror: $DATA_MIRROR, else ../shared/data (relative to the repository root)
# when it holds a SHA256SUMS. Without a mirror the files that have a canonical
# download are fetched from it (curl or wget); the UD and eng-fra files are
# gzip'ed here with `gzip -9 -n`, as the mirror stores them. Files that exist
# only in the mirror (text conversions, the CIFAR-10 subset and PNGs, the
# mirror's own scripts) are listed and skipped.
#
# Idempotent: files already present with the right checksum are left alone.
# Every file is written to "<name>.part.<pid>" and renamed once verified, so an
# interrupted run never leaves a half-written file under its final name.
# Exit status: 0 all listed files present and verified (or only mirror-only
# files missing in download mode, with a message); 1 a checksum mismatch;
# 2 a copy or download failed / bad setup.
set -u

err() { printf 'fetch_data: %s\n' "$*" >&2; }
die() { err "$*"; exit 2; }

# Resolve a relative mirror against the caller's directory, then work from the root.
mirror=${DATA_MIRROR:-}
case $mirror in "" | /*) ;; *) mirror="$(pwd)/$mirror" ;; esac
cd "$(dirname "$0")/.." || die "cannot cd to the repository root"
ROOT=$(pwd)
SUMS="$ROOT/data.sha256"
DEST="$ROOT/data"
[ -f "$SUMS" ] || die "$SUMS is missing (it lists the files and their sha256)"
if [ -z "$mirror" ] && [ -f "$ROOT/../shared/data/SHA256SUMS" ]; then
    mirror="$ROOT/../shared/data"
fi
if [ -n "$mirror" ]; then
    [ -d "$mirror" ] || die "DATA_MIRROR=$mirror is not a directory"
    if [ -f "$mirror/SHA256SUMS" ] && ! cmp -s "$mirror/SHA256SUMS" "$SUMS"; then
        err "note: $mirror/SHA256SUMS differs from data.sha256; verifying against data.sha256"
    fi
fi
command -v sha256sum >/dev/null || die "sha256sum not found (Debian: coreutils)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fetch_data.XXXXXX") || die "mktemp failed"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

sha_of() { sha256sum < "$1" | cut -d' ' -f1; }

# Which listed files are already right? One sha256sum -c over all of them.
mkdir -p "$DEST"
(cd "$DEST" && sha256sum -c "$SUMS" 2>/dev/null) | sed -n 's/: OK$//p' > "$WORK/ok"
awk -v okf="$WORK/ok" 'FILENAME == okf { ok[$0] = 1; next }
     { p = $2; sub(/^\*/, "", p); if (!(p in ok)) print $1, p }' "$WORK/ok" "$SUMS" > "$WORK/todo"
n_total=$(grep -c . "$SUMS")
n_todo=$(grep -c . "$WORK/todo")
if [ "$n_todo" -eq 0 ]; then
    echo "fetch_data: all $n_total files in data/ present and verified"
    exit 0
fi
echo "fetch_data: $((n_total - n_todo)) of $n_total files already verified; placing $n_todo from ${mirror:-the canonical downloads}"

# ---- download helpers (no-mirror mode) ---------------------------------------
UD=https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/r2.16
PLANETOID=https://raw.githubusercontent.com/kimiyoung/planetoid/af6abf468a772cc055bec88c52e4d6f51b7c37e3
MNIST=https://ossci-datasets.s3.amazonaws.com/mnist
FASHION=https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/b2617bb6d3ffa2e429640350f613e3291e10b141
SHAKESPEARE=https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt
PYTORCH_DATA=https://download.pytorch.org/tutorial/data.zip

# fetch URL OUT: download to OUT (curl or wget); non-zero on failure.
fetch() {
    if command -v curl >/dev/null; then curl -fsSL --retry 3 -o "$2" "$1"
    elif command -v wget >/dev/null; then wget -q -O "$2" "$1"
    else err "neither curl nor wget found"; return 1; fi
}

# fetch_gzip URL RAW_SHA256 OUT: download an uncompressed file, check it
# against the README's uncompressed checksum, then gzip -9 -n it into OUT.
fetch_gzip() {
    fetch "$1" "$WORK/raw" || return 1
    got=$(sha_of "$WORK/raw")
    if [ "$got" != "$2" ]; then
        err "$1: uncompressed sha256 $got, expected $2 (the README's)"
        return 1
    fi
    gzip -9 -n -c "$WORK/raw" > "$3" && rm -f "$WORK/raw"
}

# download PATH OUT: produce data/PATH's canonical bytes in OUT (creating its
# folder). Returns 3, creating nothing, when PATH has no canonical download.
download() {
    name=${1##*/}
    raw=""
    case $1 in
        ud_english_ewt/en_ewt-ud-train.conllu.gz)
            how=gzip url="$UD/en_ewt-ud-train.conllu" raw=3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b ;;
        ud_english_ewt/en_ewt-ud-dev.conllu.gz)
            how=gzip url="$UD/en_ewt-ud-dev.conllu" raw=531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6 ;;
        ud_english_ewt/en_ewt-ud-test.conllu.gz)
            how=gzip url="$UD/en_ewt-ud-test.conllu" raw=e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd ;;
        ud_english_ewt/LICENSE.txt | ud_english_ewt/README.md | ud_english_ewt/stats.xml)
            how=plain url="$UD/$name" ;;
        cora/planetoid/ind.* | citeseer/planetoid/ind.*)
            how=plain url="$PLANETOID/data/$name" ;;
        cora/planetoid/LICENSE | citeseer/planetoid/LICENSE)
            how=plain url="$PLANETOID/LICENSE" ;;
        mnist/*.gz)
            how=plain url="$MNIST/$name" ;;
        fashion_mnist/*.gz)
            how=plain url="$FASHION/data/fashion/$name" ;;
        fashion_mnist/LICENSE)
            how=plain url="$FASHION/LICENSE" ;;
        tinyshakespeare/input.txt)
            how=plain url="$SHAKESPEARE" ;;
        eng_fra/eng-fra.txt.gz)
            # member data/eng-fra.txt of the PyTorch tutorial archive, gzip -9 -n
            how=zip url="$PYTORCH_DATA" raw=6b0f3decdb78600485b58efb541f5a2ab69ba888742ac04180e013084e40de7c ;;
        *)
            return 3 ;;
    esac
    mkdir -p "${2%/*}" || return 1
    case $how in
        plain) fetch "$url" "$2" ;;
        gzip) fetch_gzip "$url" "$raw" "$2" ;;
        zip)
            fetch "$url" "$WORK/data.zip" || return 1
            if command -v unzip >/dev/null; then
                unzip -p "$WORK/data.zip" data/eng-fra.txt > "$WORK/raw" || return 1
            else
                python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("data/eng-fra.txt"))' \
                    "$WORK/data.zip" > "$WORK/raw" || return 1
            fi
            got=$(sha_of "$WORK/raw")
            [ "$got" = "$raw" ] || { err "data.zip:data/eng-fra.txt: sha256 $got, expected $raw (the README's)"; return 1; }
            gzip -9 -n -c "$WORK/raw" > "$2" ;;
    esac
}

# ---- place each missing file ----------------------------------------------------
# Phase 1 writes every missing file to "<name>.part.<pid>" (listed in
# $WORK/parts so that an interrupt removes them all), phase 2 checks all parts
# with one sha256sum run, phase 3 renames the good ones and deletes the rest.
n_ok=0 n_bad=0 n_fail=0
: > "$WORK/mirror_only"
: > "$WORK/parts"
cleanup() {
    [ -s "$WORK/parts" ] && sed "s|^[^ ]* \(.*\)\$|$DEST/\\1.part.$$|" "$WORK/parts" | xargs -r rm -f
    rm -rf "$WORK"
}
lastdir=""
while read -r sum path; do
    case $path in
        /* | ../* | */../* | *' '*) err "refusing unsafe path in data.sha256: $path"; n_fail=$((n_fail + 1)); continue ;;
    esac
    dest="$DEST/$path"
    part="$dest.part.$$"
    echo "$sum $path" >> "$WORK/parts"
    if [ -n "$mirror" ]; then
        dir=${dest%/*}
        if [ "$dir" != "$lastdir" ]; then
            mkdir -p "$dir" || { n_fail=$((n_fail + 1)); continue; }
            lastdir=$dir
        fi
        if ! cp "$mirror/$path" "$part"; then
            err "$path: copy from $mirror failed"
            rm -f "$part"; n_fail=$((n_fail + 1))
        fi
    else
        download "$path" "$part"
        rc=$?
        if [ "$rc" -eq 3 ]; then
            echo "$path" >> "$WORK/mirror_only"
            rm -f "$part"
        elif [ "$rc" -ne 0 ]; then
            err "$path: download failed"
            rm -f "$part"; n_fail=$((n_fail + 1))
        fi
    fi
done < "$WORK/todo"

# phase 2: "<expected> <got> <path>" for every part that exists
(cd "$DEST" && while read -r sum path; do
    [ -f "$path.part.$$" ] && printf '%s\n' "$path.part.$$"
done < "$WORK/parts" | xargs -r sha256sum) > "$WORK/got"
awk -v gotf="$WORK/got" -v pid=".part.$$" '
    FILENAME == gotf { p = $2; sub(/^\*/, "", p); got[substr(p, 1, length(p) - length(pid))] = $1; next }
    ($2 in got) { print $1, got[$2], $2 }' "$WORK/got" "$WORK/parts" > "$WORK/check"

# phase 3
while read -r want got path; do
    if [ "$want" != "$got" ]; then
        err "CHECKSUM MISMATCH: $path: got sha256 $got, expected $want; not installed"
        rm -f "$DEST/$path.part.$$"
        n_bad=$((n_bad + 1))
    elif mv -f "$DEST/$path.part.$$" "$DEST/$path"; then
        n_ok=$((n_ok + 1))
    else
        rm -f "$DEST/$path.part.$$"
        n_fail=$((n_fail + 1))
    fi
done < "$WORK/check"

n_mirror_only=$(grep -c . "$WORK/mirror_only")
echo "fetch_data: placed $n_ok file(s) in data/"
if [ "$n_mirror_only" -gt 0 ]; then
    err "$n_mirror_only file(s) have no canonical download and need DATA_MIRROR (a copy of shared/data):"
    # one line per folder, with a count, so 3,000 PNGs are one line
    awk -F/ '{ d = (NF > 1) ? $1 : "."; n[d]++; if (!(d in ex)) ex[d] = $0 }
             END { for (d in n) printf "  %s/ (%d file(s), e.g. %s)\n", d, n[d], ex[d] }' \
        "$WORK/mirror_only" | sort >&2
    err "(text conversions of Cora/Citeseer, the CIFAR-10 subset and PNG folders, and the mirror's scripts were made for the mirror)"
fi
if [ "$n_bad" -gt 0 ]; then
    err "$n_bad file(s) failed verification against data.sha256"
    exit 1
fi
if [ "$n_fail" -gt 0 ]; then
    err "$n_fail file(s) could not be copied or downloaded"
    exit 2
fi
exit 0
