#!/bin/bash
# tests/integration/sdk_install.sh — the installed SDK is enough to build a plugin: the
# example exporter plugin is compiled in a directory outside the tree with only what
# `pkg-config --cflags --libs ignis` prints for the installed SDK (make check installs
# into tests/dest first), then loaded into ignisd and its metrics served on /metrics.
# Also: every installed plugin, and the example, export ignis_plugin and nothing else.
. "$top_srcdir/tests/lib.sh"

DEST="$top_builddir/tests/dest"
prefix=$(sed -n 's/^prefix=//p' "$top_builddir/sdk/ignis.pc")
libdir=$(sed -n 's/^libdir=//p' "$top_builddir/sdk/ignis.pc" | sed "s|\${exec_prefix}|$prefix|; s|\${prefix}|$prefix|")
[ -f "$DEST$libdir/pkgconfig/ignis.pc" ] || fail "the SDK is not installed in $DEST (make check installs it)"

export PKG_CONFIG_SYSROOT_DIR="$DEST"
export PKG_CONFIG_PATH="$DEST$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs ignis) || fail "pkg-config ignis"
case "$flags" in
*"$top_srcdir/sdk"* | *"$top_builddir/sdk"*) fail "pkg-config points into the source tree: $flags" ;;
esac
echo "pkg-config --cflags --libs ignis: $flags"

out="$TMP/outside"
mkdir -p "$out"
cp "$top_srcdir/sdk/examples/loadavg_plugin.c" "$out/"
(cd "$out" && ${CC:-cc} -std=c11 -Wall -Wextra -Werror -shared -fPIC -o loadavg.so loadavg_plugin.c $flags) ||
    fail "the example plugin does not build against the installed SDK"
pass "example plugin built outside the tree against the installed SDK"

# Only ignis_plugin is exported by a plugin (toolchain symbols aside).
check_exports() {
    extra=$(nm -D --defined-only "$1" | awk '{print $3}' |
        grep -v -x -e ignis_plugin -e _init -e _fini -e __bss_start -e _edata -e _end || true)
    [ -z "$extra" ] || fail "$1 exports more than ignis_plugin: $extra"
    nm -D --defined-only "$1" | awk '{print $3}' | grep -q -x ignis_plugin || fail "$1 lacks ignis_plugin"
}
n=0
for so in "$DEST$libdir/ignis/plugins/"*.so; do
    [ -f "$so" ] || continue
    check_exports "$so"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no plugin installed under $DEST$libdir/ignis/plugins"
check_exports "$out/loadavg.so"
# libignis exports only ignis_* symbols.
extra=$(nm -D --defined-only "$DEST$libdir/libignis.so" | awk '{print $3}' | grep -v '^ignis_' |
    grep -v -x -e _init -e _fini -e __bss_start -e _edata -e _end || true)
[ -z "$extra" ] || fail "libignis exports non-ignis_ symbols: $extra"
pass "nm -D: $n installed plugins and the example export only ignis_plugin; libignis only ignis_*"

cat >"$TMP/ignis.conf" <<CONF
plugins = { path = [ "$PLUGINS_BUILD", "$out" ]; load = [ "mem", "loadavg" ]; };
storage = { mem = { }; };
exporters = { loadavg = { path = "/proc/loadavg"; }; };
CONF
start_ignisd sdk "$TMP/ignis.conf"
wait_ready "$IGNIS_ADDR"
curl -sf "http://$IGNIS_ADDR/metrics" >"$TMP/metrics" || fail "GET /metrics"
assert_grep '^loadavg_load1 ' "$TMP/metrics" "the plugin's gauge is served"
assert_grep '^loadavg_tasks{state="all"} ' "$TMP/metrics" "the plugin's labelled series"
assert_grep 'plugin=loadavg' "$TMP/sdk.log" "the loader logged the plugin"
pass "the out-of-tree plugin loads into ignisd and its metrics are on /metrics"
