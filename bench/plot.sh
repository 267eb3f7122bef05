#!/usr/bin/env bash
# Turns the `@@bench` lines of a bench/scale.sh console log into a table and a plot: time (load,
# no-op, one weight changed; ipvsc of both inputs, the floor client, ipvsadm) and memory
# (ipvsc's peak resident set, the kernel's Slab + Percpu for the table) against the table's
# servers, both on log scales.
# Usage: bench/plot.sh [LOG [TSV [PNG]]]   (default target/bench-scale.log, bench/scale.tsv,
# bench/scale.png). Installs gnuplot-nox with apt-get when gnuplot is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
log=${1:-${CARGO_TARGET_DIR:-target}/bench-scale.log}
tsv=${2:-bench/scale.tsv}
png=${3:-bench/scale.png}
[ -f "$log" ] || {
    echo "bench/plot.sh: no log $log (bench/scale.sh writes it)" >&2
    exit 2
}
grep -q '^@@bench load ' "$log" || {
    echo "bench/plot.sh: no @@bench load line in $log" >&2
    exit 1
}

# One row per size, in the log's order; "-" where a value is missing.
awk '
    BEGIN {
        ncol = split("size services servers load_ipvsc load_dump load_floor load_ipvsadm ipvsadm_R_runs noop_ipvsc noop_dump one_ipvsc one_dump ipvsadm_Sn mem_load_ipvs_kb mem_load_dump_kb mem_noop_ipvs_kb mem_noop_dump_kb mem_one_ipvs_kb mem_one_dump_kb mem_floor_kb kernel_slab_kb kernel_percpu_kb kernel_total_kb rollback_load_secs rollback_load_ops rollback_weights_secs rollback_weights_ops", col, " ")
        # Which key of which @@bench line fills each column.
        src["load_ipvsc"] = "load ipvsc"; src["load_dump"] = "load ipvsc_dump"
        src["load_floor"] = "load floor"; src["load_ipvsadm"] = "load ipvsadm_R"
        src["ipvsadm_R_runs"] = "load ipvsadm_R_runs"
        src["noop_ipvsc"] = "noop ipvsc"; src["noop_dump"] = "noop ipvsc_dump"
        src["ipvsadm_Sn"] = "noop ipvsadm_Sn"
        src["one_ipvsc"] = "one_weight ipvsc"; src["one_dump"] = "one_weight ipvsc_dump"
        src["mem_load_ipvs_kb"] = "memory load_ipvs_kb"; src["mem_load_dump_kb"] = "memory load_dump_kb"
        src["mem_noop_ipvs_kb"] = "memory noop_ipvs_kb"; src["mem_noop_dump_kb"] = "memory noop_dump_kb"
        src["mem_one_ipvs_kb"] = "memory one_ipvs_kb"; src["mem_one_dump_kb"] = "memory one_dump_kb"
        src["mem_floor_kb"] = "memory floor_kb"
        src["kernel_slab_kb"] = "kernel_memory slab_kb"; src["kernel_percpu_kb"] = "kernel_memory percpu_kb"
        src["kernel_total_kb"] = "kernel_memory total_kb"
        src["rollback_load_secs"] = "rollback_load secs"; src["rollback_load_ops"] = "rollback_load rolled_back_ops"
        src["rollback_weights_secs"] = "rollback_weights secs"; src["rollback_weights_ops"] = "rollback_weights rolled_back_ops"
    }
    /^@@bench params / { params = substr($0, 16) }
    /^@@bench / {
        what = $2
        size = ""
        for (i = 3; i <= NF; i++) {
            eq = index($i, "=")
            if (!eq) continue
            k = substr($i, 1, eq - 1); v = substr($i, eq + 1)
            if (k == "size") size = v
            kv[k] = v
        }
        if (size == "") { delete kv; next }
        if (what == "rollback") what = what "_" kv["case"]
        if (!(size in seen)) { seen[size] = 1; order[++n] = size }
        for (k in kv) {
            val[size, what " " k] = kv[k]
            if (k == "services" || k == "servers") val[size, k] = kv[k]
        }
        delete kv
    }
    END {
        printf "# bench/scale.sh: %s\n", params
        for (c = 1; c <= ncol; c++) printf "%s%s", col[c], (c < ncol ? "\t" : "\n")
        for (r = 1; r <= n; r++) {
            s = order[r]
            for (c = 1; c <= ncol; c++) {
                name = col[c]
                if (name == "size") v = s
                else if (name in src) v = ((s, src[name]) in val) ? val[s, src[name]] : "-"
                else v = ((s, name) in val) ? val[s, name] : "-"
                printf "%s%s", v, (c < ncol ? "\t" : "\n")
            }
        }
    }' "$log" >"$tsv"
echo "bench/plot.sh: wrote $tsv"

if ! command -v gnuplot >/dev/null; then
    [ "$(id -u)" = 0 ] || {
        echo "bench/plot.sh: gnuplot is missing; as root: apt-get update && apt-get install -y gnuplot-nox" >&2
        exit 2
    }
    echo "bench/plot.sh: installing gnuplot-nox" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null
fi
params=$(sed -n '1s/^# bench\/scale.sh: //p' "$tsv")
# The memory plot reaches at least 2 GiB, so that the 1 GiB target shows.
top=$(awk -F '\t' 'NR == 2 { for (i = 1; i <= NF; i++) if ($i ~ /^(mem_|kernel_total)/) c[i] = 1 }
    NR > 2 { for (i in c) if ($i != "-" && $i / 1024 > m) m = $i / 1024 }
    END { print (2 * m > 2048 ? 2 * m : 2048) }' "$tsv")
gnuplot <<EOF
set terminal pngcairo size 1500,650 font ",10"
set output "$png"
set datafile separator "\t"
set datafile missing "-"
set datafile commentschars "#"
set logscale xy
set grid
set key top left
set xlabel "servers in the table"
set multiplot layout 1,2 title "ipvsc apply at scale, medians (guest under TCG: compare within the boot)\n$params" noenhanced
set title "time"
set ylabel "seconds"
plot "$tsv" using "servers":"load_ipvsc" with linespoints lw 2 lc 1 pt 7 title "load, ipvsc .ipvs", \
     "" using "servers":"load_dump" with linespoints lw 2 lc 2 pt 7 title "load, ipvsc dump", \
     "" using "servers":"load_floor" with linespoints lw 2 lc 3 pt 7 title "load, floor client", \
     "" using "servers":"load_ipvsadm" with linespoints lw 2 lc 4 pt 7 title "load, ipvsadm -R", \
     "" using "servers":"noop_ipvsc" with linespoints lw 2 lc 1 dt 2 pt 5 title "no-op, ipvsc .ipvs", \
     "" using "servers":"noop_dump" with linespoints lw 2 lc 2 dt 2 pt 5 title "no-op, ipvsc dump", \
     "" using "servers":"one_ipvsc" with linespoints lw 2 lc 1 dt 3 pt 9 title "one weight, ipvsc .ipvs", \
     "" using "servers":"one_dump" with linespoints lw 2 lc 2 dt 3 pt 9 title "one weight, ipvsc dump", \
     "" using "servers":"ipvsadm_Sn" with linespoints lw 2 lc 4 dt 2 pt 5 title "ipvsadm -Sn"
set title "memory"
set ylabel "MiB"
set yrange [*:$top]
set arrow 1 from graph 0, first 1024 to graph 1, first 1024 nohead dt 4 lc "gray"
set label 1 "1 GiB (target for ipvsc at 1,000,000 servers)" at graph 0.98, first 1024 right offset 0,0.7 tc "gray"
set key bottom right
plot "$tsv" using "servers":(column("mem_load_ipvs_kb") / 1024) with linespoints lw 2 lc 1 pt 7 title "ipvsc peak RSS: load .ipvs", \
     "" using "servers":(column("mem_load_dump_kb") / 1024) with linespoints lw 2 lc 2 pt 7 title "load dump", \
     "" using "servers":(column("mem_noop_ipvs_kb") / 1024) with linespoints lw 2 lc 1 dt 2 pt 5 title "no-op .ipvs", \
     "" using "servers":(column("mem_noop_dump_kb") / 1024) with linespoints lw 2 lc 2 dt 2 pt 5 title "no-op dump", \
     "" using "servers":(column("mem_one_ipvs_kb") / 1024) with linespoints lw 2 lc 1 dt 3 pt 9 title "one weight .ipvs", \
     "" using "servers":(column("mem_one_dump_kb") / 1024) with linespoints lw 2 lc 2 dt 3 pt 9 title "one weight dump", \
     "" using "servers":(column("mem_floor_kb") / 1024) with linespoints lw 2 lc 3 pt 7 title "floor client peak RSS", \
     "" using "servers":(column("kernel_total_kb") / 1024) with linespoints lw 2 lc 7 pt 13 title "kernel: Slab + Percpu for the table"
unset multiplot
EOF
echo "bench/plot.sh: wrote $png"
