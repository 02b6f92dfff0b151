# Helpers shared by bench/register.sh, bench/media.sh and bench/relay.sh
# (sourced, not run). The caller defines IDLE_MAX and IDLE_WAIT.

die() { echo "$(basename "$0"): $*" >&2; exit 2; }
log() { echo "== $*" >&2; }

# need_tools PACKAGES TOOL...: dies naming the Debian packages when a tool is missing.
need_tools() {
    local packages=$1 tool
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install $packages)"
    done
}

# make_workdir NAME: a fresh $WORK. On exit (Ctrl-C too) the function named
# in STOP_HOOK runs, if any, every PID in the array BG is stopped, and $WORK
# is removed (kept with KEEP=1).
make_workdir() {
    WORK="$(mktemp -d "/tmp/switchboard-$1.XXXXXX")"
    BG=()
    trap cleanup_workdir EXIT
    trap 'exit 130' INT TERM
}
cleanup_workdir() {
    local pid
    [[ -n "${STOP_HOOK:-}" ]] && "$STOP_HOOK"
    for pid in "${BG[@]}"; do stop_pid "$pid"; done
    if [[ "${KEEP:-0}" == 1 ]]; then
        echo "work directory kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}

# stop_pid PID: TERM, then KILL after 5 s.
stop_pid() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# cpu_ticks PID: CPU time (clock ticks) of a process, all its threads and its
# direct children (Kamailio's workers are children of its main process).
cpu_ticks() {
    local p total=0 f
    for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
        f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        f=${f##*) }  # fields from 3 on (the name may hold spaces)
        set -- $f
        total=$((total + ${12} + ${13}))  # utime + stime (fields 14, 15)
    done
    echo "$total"
}

# busy_pct: busy share of all CPUs (%) over one second.
busy_pct() {
    local a b
    read -r -a a < <(head -1 /proc/stat)
    sleep 1
    read -r -a b < <(head -1 /proc/stat)
    awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        for (i = 2; i <= 9; i++) { t += y[i] - x[i] }
        idle = (y[5] - x[5]) + (y[6] - x[6])
        printf "%d\n", (t > 0 ? 100 * (t - idle) / t : 0) }'
}

# wait_idle: waits (at most IDLE_WAIT s) until the machine is at most
# IDLE_MAX % busy, so that a build elsewhere does not land on one step only;
# prints the busy % measured last.
wait_idle() {
    local busy deadline=$((SECONDS + IDLE_WAIT))
    while :; do
        busy=$(busy_pct)
        if ((busy <= IDLE_MAX || SECONDS >= deadline)); then break; fi
        log "the machine is ${busy}% busy with other work; waiting (at most ${IDLE_WAIT}s in all)"
        sleep 4
    done
    echo "$busy"
}

# sipp_stats CSV RC [HOLD_MS]: "ok failed retrans rate_completed elapsed rc"
# from SIPp's -trace_stat file; the completed rate is successful calls /
# (elapsed - the hold of one call).
sipp_stats() {
    local stf=$1 rc=$2 hold=${3:-0}
    [[ -s "$stf" ]] || { echo "0 - 0 0 0 $rc"; return; }
    awk -F';' -v rc="$rc" -v hold="$hold" '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        { last = $0 }
        END {
            split(last, v, ";")
            split(v[col["StartTime"]], s, "\t"); split(v[col["CurrentTime"]], e, "\t")
            el = e[3] - s[3]; busy = el - hold / 1000; if (busy <= 0) busy = 1e-9
            ok = v[col["SuccessfulCall(C)"]]
            printf "%d %d %d %.1f %.2f %d\n", ok, v[col["FailedCall(C)"]], v[col["Retransmissions(C)"]], ok / busy, el, rc
        }' "$stf"
}

# start_switchboard CPUS: a fresh Switchboard ($BIN, $WORK/switchboard.yaml,
# 127.0.0.1:$SB_PORT, var in $WORK/var) pinned to CPUS; sets SB_PID once it
# answers OPTIONS.
start_switchboard() {
    rm -rf "$WORK/var"
    (cd "$WORK" && exec taskset -c "$1" "$BIN" serve --config "$WORK/switchboard.yaml" \
        --sip-listen "127.0.0.1:$SB_PORT" --var-dir "$WORK/var" --log warn) \
        >>"$WORK/switchboard.log" 2>&1 &
    SB_PID=$!
    BG+=("$SB_PID")
    for _ in $(seq 100); do
        kill -0 "$SB_PID" 2>/dev/null || die "switchboard exited at start: $(tail -3 "$WORK/switchboard.log")"
        if sipsak -s "sip:127.0.0.1:$SB_PORT" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    die "switchboard did not answer OPTIONS"
}
