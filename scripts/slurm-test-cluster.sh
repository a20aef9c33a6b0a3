#!/usr/bin/env bash
# A throwaway single-node Slurm cluster on loopback, for the Slurm launcher's test.
#   scripts/slurm-test-cluster.sh start DIR   -> munged, slurmctld, slurmd; writes DIR/env (source it)
#   scripts/slurm-test-cluster.sh stop DIR
# No cgroups: proctrack/linuxproc, task/none. Needs root (slurmd runs jobs as their user).
set -euo pipefail
cmd="${1:?usage: slurm-test-cluster.sh start|stop DIR}"
dir="$(mkdir -p "${2:?DIR}" && cd "$2" && pwd)"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

stop() {
  for p in slurmd slurmctld munged; do
    [[ -f "$dir/$p.pid" ]] && kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
  done
  sleep 0.5
  for p in slurmd slurmctld munged; do
    [[ -f "$dir/$p.pid" ]] && kill -9 "$(cat "$dir/$p.pid")" 2>/dev/null || true
    rm -f "$dir/$p.pid"
  done
}

case "$cmd" in
  stop) stop; rm -rf "$dir"; exit 0 ;;
  start) ;;
  *) echo "usage: slurm-test-cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
[[ $(id -u) -eq 0 ]] || { echo "slurm-test-cluster: needs root" >&2; exit 1; }
command -v slurmctld >/dev/null || { echo "slurm-test-cluster: apt-get install slurm-wlm munge" >&2; exit 1; }
stop
mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
chmod 700 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
  --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed"

cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat >"$dir/slurm.conf" <<CONF
ClusterName=opaltest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MailProg=/bin/true
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
export SLURM_CONF="$dir/slurm.conf"
echo "export SLURM_CONF=$dir/slurm.conf" >"$dir/env"
slurmctld -D -i -f "$SLURM_CONF" >>"$dir/log/slurmctld.out" 2>&1 &
slurmd -D -N localhost -f "$SLURM_CONF" >>"$dir/log/slurmd.out" 2>&1 &
for _ in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -qE "^idle"; then
    echo "slurm-test-cluster: up ($dir, SLURM_CONF=$SLURM_CONF)" >&2
    exit 0
  fi
  sleep 0.5
done
echo "slurm-test-cluster: the node never became idle; logs:" >&2
tail -20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" "$dir/log/"*.out >&2 || true
exit 1
