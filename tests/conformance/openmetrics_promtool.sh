#!/bin/sh
# tests/conformance/openmetrics_promtool.sh — differential test of strict 0.0.4 mode
# against the real `promtool check metrics` (Debian package prometheus): on tricky snippets,
# the captured /metrics bodies and the textformat corpus, libignis must refuse exactly what
# promtool's parser refuses (its lint findings are not parse errors and are ignored).
# Quoted UTF-8 names are left out: promtool 2.42 predates them. Ends "N passed, N failed".
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
runner="$top_builddir/tests/conformance/openmetrics_runner"
if ! command -v promtool >/dev/null 2>&1; then
    echo "*** promtool NOT INSTALLED (Debian package prometheus): differential NOT run ***" >&2
    [ "${CI:-}" = true ] && { echo "0 passed, 1 failed"; exit 1; }
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
i=0
add() { i=$((i + 1)); printf '%b' "$1" >"$tmp/snippet$(printf %03d $i)"; }
add 'a 1\n'
add 'a 1'
add '# only a comment'
add 'a 1\n  '
add 'a{b="c",d="e",} 1 -12\n'
add '  a { b = "c" , d="e" }   1   2\n'
add 'a{b="c"}1\n'
add 'a 1 \n'
add 'a 1 2\t\n'
add 'a{b="c" d="e"} 1\n'
add 'a{b="c",,d="e"} 1\n'
add 'a{b="c} 1\n'
add 'a{b=c} 1\n'
add 'a{b="x\\\\y\\"z\\nw"} 1\n'
add 'a{b="x\\qy"} 1\n'
add 'a{b="two\nlines"} 1\n'
add 'a{b="\xc3\xa9"} 1\n'
add 'a{b="\xff"} 1\n'
add 'a{b="1",b="2"} 1\n'
add 'a{1b="1"} 1\n'
add '9a 1\n'
add 'a NaN\na +Inf\na -Inf\na nan\na inf\na -infinity\n'
add 'a .5\na 5.\na 1e5\na 1E-5\na +3\n'
add 'a 0x1p3\n'
add 'a 0x1\n'
add 'a 1_000\n'
add 'a +nan\n'
add 'a 1.5.2\n'
add 'a\n'
add 'a 1 1.5\n'
add 'a 1 9223372036854775807\n'
add 'a 1 9223372036854775808\n'
add 'a 1 2 3\n'
add '# HELP a x \\\\ y \\n z\na 1\n'
add '# HELP a bad \\q escape\na 1\n'
add '# HELP a x\n# HELP a y\na 1\n'
add '# TYPE a gauge\n# TYPE a gauge\na 1\n'
add 'a 1\n# TYPE a gauge\n'
add '# TYPE a gauge\na 1\n'
add '# TYPE a untyped\na 1\n'
add '# TYPE a  gauge\na 1\n'
add '# TYPE a gauge \na 1\n'
add '# TYPE a info\na_info 1\n'
add '# TYPE a meh\na 1\n'
add '# TYPE a\na 1\n'
add '# HELP\n# HELP \n# TYPE\na 1\n'
add '#HELP a x\n#TYPE a gauge\na 1\n'
add '# HELPX a\n#\n#x\n'
add '# HELP 0a x\na 1\n'
add '# TYPE h histogram\nh_bucket{le="0.5"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'
add '# TYPE h histogram\nh_bucket{le="x"} 1\n'
add '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 1\ns_count 1\n'
add '# TYPE s summary\ns{quantile="q"} 1\n'
add '\n\n\ta 1\n\n'
add 'a 1\r\n'
for f in "$top_srcdir"/tests/data/bodies/*.prom.txt; do cp "$f" "$tmp/"; done
if [ -n "${CONFORMANCE_DIR:-}" ] && [ -d "$CONFORMANCE_DIR/textformat" ]; then
    for f in "$CONFORMANCE_DIR"/textformat/*.prom.txt; do cp "$f" "$tmp/"; done
fi
pass=0
fail=0
"$runner" --check prom "$tmp"/* >"$tmp.ours" || { echo "runner failed"; exit 1; }
while IFS= read -r line; do
    f=${line%%: *}
    verdict=${line#*: }
    theirs=$(promtool check metrics <"$f" 2>&1 | grep -o 'parsing error.*' | head -n 1)
    if [ "$verdict" = ok ] && [ -z "$theirs" ]; then
        pass=$((pass + 1))
    elif [ "$verdict" != ok ] && [ -n "$theirs" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "MISMATCH $(basename "$f"): ignis: $verdict; promtool: ${theirs:-accepted}"
        od -c "$f" | head -n 4
    fi
done <"$tmp.ours"
rm -f "$tmp.ours"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
