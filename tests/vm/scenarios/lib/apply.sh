# Shared by the apply_* scenarios (sourced; scenarios run with /scenarios as their directory).

# fail MESSAGE [FILE...]: says why, shows the files indented, and ends the scenario.
fail() {
    echo "FAIL: $1"
    shift
    for e in "$@"; do sed 's/^/    /' "$e"; done
    exit 1
}

# snapshot FILE: everything an apply may change and must put back: `ipvsadm -Sn`, `ipvsc save`
# (thresholds, timeouts and daemons, which ipvsadm -S loses) and every IPVS sysctl.
snapshot() {
    {
        echo "@@ ipvsadm -Sn"
        "$IPVSADM" -S -n
        echo "@@ ipvsc save --format ipvsadm"
        "$IPVSC" save --format ipvsadm
        echo "@@ sysctls"
        grep . /proc/sys/net/ipv4/vs/*
    } >"$1" 2>&1
}

# watchdog SECONDS: in the background, for as long as the scenario runs, any ipvsc process
# older than SECONDS is taken as stuck: its threads' kernel stacks and system calls, its open
# files and the state directory are printed, then it is killed, so that the scenario fails at
# once with where it stood instead of at the harness's timeout. It ends with the scenario's
# shell, or with `kill "$WATCHDOG"`.
watchdog() {
    scenario=$$
    (
        while kill -0 "$scenario" 2>/dev/null; do
            sleep 10
            for proc in /proc/[0-9]*; do
                # `read`, a builtin: a process per entry every few seconds would slow the guest.
                { read -r comm <"$proc/comm"; } 2>/dev/null || continue
                [ "$comm" = ipvsc ] || continue
                pid=${proc#/proc/}
                start=$(cut -d ' ' -f 22 "/proc/$pid/stat" 2>/dev/null) || continue
                up=$(cut -d ' ' -f 1 /proc/uptime | cut -d . -f 1)
                [ $((up - start / 100)) -ge "$1" ] || continue
                echo "STUCK: ipvsc pid $pid ran over $1 s: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
                tr '\0' '\n' <"/proc/$pid/environ" | grep '^IPVSC_'
                for t in /proc/"$pid"/task/*; do
                    echo "-- thread $(cat "$t/comm"): $(grep '^State' "$t/status"), system call: $(cat "$t/syscall")"
                    cat "$t/stack"
                done
                ls -l "/proc/$pid/fd"
                ls -l "${IPVSC_STATE_DIR:-/var/lib/ipvsc}"
                kill -9 "$pid"
            done
        done
    ) &
    WATCHDOG=$!
}
