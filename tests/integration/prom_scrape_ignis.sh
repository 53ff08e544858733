#!/bin/bash
# tests/integration/prom_scrape_ignis.sh — a real Prometheus scrapes ignisd's /metrics.
# Prometheus 2.42 negotiates OpenMetrics first, so it ingests our OpenMetrics output: the
# target must be up, and the series it stored must be exactly those of our text 0.0.4
# output plus the _created series OpenMetrics adds. Our 0.0.4 output also passes
# `promtool check metrics` without a complaint.
. "$top_srcdir/tests/lib.sh"
need prometheus
need promtool

cat >"$TMP/ignis.conf" <<CONF
plugins = { path = [ "$PLUGINS_BUILD", "$PLUGINS_TEST" ]; load = [ "mem", "good" ]; };
storage = { mem = { }; };
exporters = { good = { greeting = "hi"; value = 3; }; };
CONF
start_ignisd ig "$TMP/ignis.conf"
wait_ready "$IGNIS_ADDR"
# Touch the endpoints whose request metrics we want to exist before Prometheus looks.
curl -s -o /dev/null "http://$IGNIS_ADDR/-/healthy"
curl -s -o /dev/null "http://$IGNIS_ADDR/metrics"

curl -s "http://$IGNIS_ADDR/metrics" >"$TMP/text.prom"
promtool check metrics <"$TMP/text.prom" >"$TMP/promtool.out" 2>&1
[ $? -eq 0 ] && [ ! -s "$TMP/promtool.out" ] || fail "promtool check metrics complains: $(cat "$TMP/promtool.out")"
pass "promtool check metrics accepts our 0.0.4 output"

cat >"$TMP/prometheus.yml" <<YML
global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
  - job_name: ignis
    static_configs: [ { targets: [ "$IGNIS_ADDR" ] } ]
YML
start_prometheus "$TMP/prometheus.yml" prometheus
pport=${PROM_ADDR##*:}
wait_http "http://127.0.0.1:$pport/-/ready"

up=""
for i in $(seq 1 150); do
    up=$(curl -s "http://127.0.0.1:$pport/api/v1/query?query=up" | grep -o '"value":\[[^]]*\]' | sed 's/.*,"\(.*\)"\]/\1/')
    [ "$up" = "1" ] && break
    sleep 0.2
done
assert_eq "$up" "1" "up of ignisd as scraped by Prometheus"
# Let a few more scrapes land, then take our text output as the reference.
sleep 3
curl -s "http://$IGNIS_ADDR/metrics" >"$TMP/text.prom"

# Series in our 0.0.4 output: name{labels} with labels sorted, one per line.
series_of_text() {
    grep -v '^#' "$1" | grep -v '^$' | sed 's/ [^ ]*$//' | sed 's/ [^ ]*$//' |
        awk '{
            n = index($0, "{"); if (n == 0) { print $0 "{}"; next }
            name = substr($0, 1, n - 1); rest = substr($0, n + 1); sub(/}$/, "", rest)
            m = split(rest, parts, /",/); out = ""
            for (i = 1; i <= m; i++) { p = parts[i]; if (i < m) p = p "\""; labels[i] = p }
            # sort labels by name
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (labels[j] < labels[i]) { t = labels[i]; labels[i] = labels[j]; labels[j] = t }
            for (i = 1; i <= m; i++) out = out (i > 1 ? "," : "") labels[i]
            print name "{" out "}"
        }' | sort -u
}
series_of_text "$TMP/text.prom" >"$TMP/ours.txt"

# Series Prometheus stored for the job, in the same form, without its synthetic ones.
curl -s -G "http://127.0.0.1:$pport/api/v1/series" --data-urlencode 'match[]={job="ignis"}' >"$TMP/series.json"
grep -o '{[^{}]*}' "$TMP/series.json" | sed 's/^{//; s/}$//' | awk -F'","' '{
    name = ""; out = ""; m = 0
    n = split($0, kv, /","/)
    for (i = 1; i <= n; i++) {
        p = kv[i]; gsub(/^"/, "", p); gsub(/"$/, "", p)
        split(p, a, /":"/)
        if (a[1] == "__name__") { name = a[2]; continue }
        if (a[1] == "job" || a[1] == "instance") continue
        labels[++m] = a[1] "=\"" a[2] "\""
    }
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (labels[j] < labels[i]) { t = labels[i]; labels[i] = labels[j]; labels[j] = t }
    for (i = 1; i <= m; i++) out = out (i > 1 ? "," : "") labels[i]
    print name "{" out "}"
}' | grep -v -E '^(up|scrape_[a-z_]*)\{' |
    # OpenMetrics writes le and quantile values in canonical float form ("1.0"), text
    # 0.0.4 as Go formats floats ("1"); Prometheus 2.42 stores either as given (3.x
    # normalizes them). The series are the same: compare them in the 0.0.4 form.
    sed -E 's/(le|quantile)="([-+0-9.e]+)\.0"/\1="\2"/g' | sort -u >"$TMP/prom.txt"

created=$(grep -c '_created{' "$TMP/prom.txt")
[ "$created" -gt 0 ] || fail "Prometheus stored no _created series from our OpenMetrics output"
grep -v '_created{' "$TMP/prom.txt" >"$TMP/prom_nocreated.txt"
if ! diff -u "$TMP/ours.txt" "$TMP/prom_nocreated.txt" >"$TMP/diff.txt"; then
    fail "series differ between our 0.0.4 output and what Prometheus stored via OpenMetrics:
$(head -40 "$TMP/diff.txt")"
fi
# Every _created series belongs to a counter, histogram or summary we expose.
while read -r c; do
    base=${c%%_created\{*}
    grep -q -E "^${base}(_total|_count)\{" "$TMP/ours.txt" ||
        fail "Prometheus has $c but we expose no ${base}_total or ${base}_count"
done < <(grep '_created{' "$TMP/prom.txt")
pass "Prometheus scraped ignisd over OpenMetrics: up == 1, $(wc -l <"$TMP/ours.txt") series equal to the 0.0.4 ones, plus $created _created series"
