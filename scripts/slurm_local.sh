#!/usr/bin/env bash
# A single-node SLURM on this machine, for the SLURM sweep tests and benchmark.
#
#   scripts/slurm_local.sh install   # apt-get install slurmctld slurmd slurm-client munge (root)
#   scripts/slurm_local.sh start     # configure + start munged, slurmctld, slurmd (idempotent)
#   scripts/slurm_local.sh status    # sinfo + squeue; exit 1 when not up
#   scripts/slurm_local.sh stop      # stop the daemons this script started (by their pid files)
#
# Debian's slurm-wlm (22.05 on bookworm) and munge, configured for one node
# (this host, CPUs and memory as `slurmd -C` reports them), one partition
# "debug", no cgroups (proctrack/linuxproc, task/none: works in containers),
# no systemd: munged, slurmctld and slurmd run as plain daemons, as root
# (SlurmUser=root), reachable on 127.0.0.1 only. No accounting database
# (sacct needs slurmdbd + MariaDB): finished jobs are logged by
# jobcomp/filetxt to $SLURM_LOCAL_ROOT/log/jobcomp.log, one line per job with
# its JobId, JobName, JobState, NodeList, StartTime and EndTime.
#
# Files live under $SLURM_LOCAL_ROOT (default /var/lib/hippo_dam_slurm); the
# config is written to /etc/slurm/slurm.conf (where the client commands look).
# `start` leaves running daemons alone when the config is unchanged, and
# restarts them when it changed.
set -euo pipefail

ROOT="${SLURM_LOCAL_ROOT:-/var/lib/hippo_dam_slurm}"
CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
MUNGE_RUN=/run/munge
PARTITION="${SLURM_LOCAL_PARTITION:-debug}"

need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "slurm_local.sh: $1 needs root (daemons run as root, config in /etc/slurm)" >&2
        exit 2
    fi
}

alive() {  # alive PIDFILE NAME -> 0 when the process in it runs and is NAME (a stale pid may be reused)
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null && [ "$(cat "/proc/$(cat "$1")/comm" 2>/dev/null)" == "$2" ]
}

install_pkgs() {
    need_root install
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        && command -v munged >/dev/null; then
        echo "slurm_local.sh: slurm and munge already installed"
        return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q -o Acquire::Retries=2 >/dev/null
    apt-get install -y -q --no-install-recommends -o Acquire::Retries=2 \
        slurmctld slurmd slurm-client munge >/dev/null
    echo "slurm_local.sh: installed $(slurmctld -V)"
}

write_config() {
    local node cpus mem boards sockets cores threads
    local spec
    spec="$(slurmd -C | head -n 1)"
    node="$(hostname -s)"
    cpus="$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$spec")"
    boards="$(sed -n 's/.*Boards=\([0-9]*\).*/\1/p' <<<"$spec")"
    sockets="$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$spec")"
    cores="$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$spec")"
    threads="$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$spec")"
    mem="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$spec")"
    mem=$(( mem * 9 / 10 ))  # leave slack: a node whose memory shrinks below RealMemory is drained
    mkdir -p "$CONF_DIR" "$ROOT/state" "$ROOT/spool" "$ROOT/log" "$ROOT/run"
    local new
    new="$(cat <<EOF
# Written by hippo_dam scripts/slurm_local.sh: one node ($node), one partition, no cgroups.
ClusterName=hippodam
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$ROOT/log/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$ROOT/state
SlurmdSpoolDir=$ROOT/spool
SlurmctldPidFile=$ROOT/run/slurmctld.pid
SlurmdPidFile=$ROOT/run/slurmd.pid
SlurmctldLogFile=$ROOT/log/slurmctld.log
SlurmdLogFile=$ROOT/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus Boards=$boards SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
)"
    if [ -f "$CONF" ] && [ "$(cat "$CONF")" == "$new" ]; then
        return 1  # unchanged
    fi
    printf '%s\n' "$new" > "$CONF"
    # cgroups off: slurmd reads cgroup.conf only if a cgroup plugin is configured
    return 0
}

start_munge() {
    if [ ! -s /etc/munge/munge.key ]; then
        if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key; else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    mkdir -p "$MUNGE_RUN" /var/log/munge /var/lib/munge
    chown munge:munge "$MUNGE_RUN" /var/log/munge /var/lib/munge
    chmod 755 "$MUNGE_RUN"
    if alive "$MUNGE_RUN/munged.pid" munged && munge -n | unmunge >/dev/null 2>&1; then
        return 0
    fi
    runuser -u munge -- /usr/sbin/munged --force 9>&-  # the daemon must not inherit (and hold) the lock
    for _ in $(seq 50); do
        munge -n | unmunge >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "slurm_local.sh: munged did not come up" >&2
    exit 1
}

stop_daemons() {
    local name pidfile pid
    for name in slurmd slurmctld; do
        pidfile="$ROOT/run/$name.pid"
        if alive "$pidfile" "$name"; then
            pid="$(cat "$pidfile")"
            kill "$pid"
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -f "$pidfile"
    done
}

q() {  # a client call that cannot hang: an unresponsive slurmctld would hold each for MessageTimeout
    timeout 5 "$@" 2>/dev/null
}

lock() {  # one start/stop at a time (parallel test workers may call start together)
    mkdir -p "$ROOT/run"
    exec 9>"$ROOT/run/.script.lock"
    flock -w 60 9 || { echo "slurm_local.sh: another start/stop holds $ROOT/run/.script.lock" >&2; exit 1; }
}

start() {
    need_root start
    lock
    for cmd in slurmctld slurmd sbatch munged; do
        command -v "$cmd" >/dev/null || { echo "slurm_local.sh: $cmd not installed (run: $0 install)" >&2; exit 1; }
    done
    start_munge
    if write_config; then
        stop_daemons  # the config changed: restart whatever runs with the old one
    fi
    alive "$ROOT/run/slurmctld.pid" slurmctld || slurmctld 9>&-
    for _ in $(seq 100); do q scontrol ping | grep -q UP && break; sleep 0.2; done
    alive "$ROOT/run/slurmd.pid" slurmd || slurmd 9>&-
    local node state
    node="$(hostname -s)"
    for _ in $(seq 150); do
        state="$(q sinfo -h -n "$node" -o %T || true)"
        case "$state" in
            drain*|down*) q scontrol update NodeName="$node" State=RESUME || true ;;
            ""|unknown*|fail*|not_responding*) ;;
            *) break ;;  # idle, mixed, allocated, completing, planned: up (busy with another sweep's jobs is fine)
        esac
        sleep 0.2
    done
    if ! status >/dev/null; then
        tail -n 5 "$ROOT/log/slurmctld.log" "$ROOT/log/slurmd.log" >&2 || true
        # last, so that a caller keeping the tail of the output keeps the reason
        echo "slurm_local.sh: SLURM did not come up (node state '$state', ping: $(q scontrol ping | tr '\n' ' ')); logs in $ROOT/log" >&2
        exit 1
    fi
    echo "slurm_local.sh: SLURM up: partition $PARTITION, node $node ($state); config $CONF"
}

status() {
    q scontrol ping | grep -q UP || { echo "slurmctld is not responding"; return 1; }
    local state
    state="$(q sinfo -h -n "$(hostname -s)" -o %T || true)"
    q sinfo
    q squeue
    case "$state" in
        ""|unknown*|fail*|not_responding*|drain*|down*) return 1 ;;
        *) return 0 ;;  # idle, mixed, allocated, completing, planned: the node takes jobs
    esac
}

stop() {
    need_root stop
    lock
    stop_daemons
    echo "slurm_local.sh: slurmctld and slurmd stopped (munged left running)"
}

case "${1:-}" in
    install) install_pkgs ;;
    start) start ;;
    status) status ;;
    stop) stop ;;
    *) echo "usage: $0 install|start|status|stop" >&2; exit 2 ;;
esac
