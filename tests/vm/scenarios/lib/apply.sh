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
