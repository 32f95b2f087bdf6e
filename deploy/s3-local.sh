#!/usr/bin/env bash
# s3-local.sh: a real S3 endpoint on 127.0.0.1 for the tests, bench/ and deploy/cluster.sh --s3:
# Ceph RADOS Gateway (radosgw 16.2, Debian bookworm packages) over a throw-away single-node Ceph cluster (one mon, one memstore OSD, no mgr,
# cephx off; loopback only). No Docker, nothing from outside the Debian archive.
#
#   s3-local.sh start DIR   fresh cluster under DIR; prints S3_ENDPOINT=, S3_ACCESS_KEY=, S3_SECRET_KEY=,
#                           S3_REGION=, S3_FORCE_PATH_STYLE= on stdout (also saved to DIR/s3.env);
#                           everything else goes to stderr. Already running under DIR: prints the same.
#   s3-local.sh stop DIR    stops the processes that start DIR started (by pid, nothing else).
#   s3-local.sh status DIR  exit 0 and the env lines when running, exit 1 otherwise.
#   s3-local.sh stop-gateway DIR / start-gateway DIR
#                           stops or starts only the S3 gateway: the bucket goes away and comes back with
#                           every object it held (they live in the OSD, which keeps running).
#
# Environment (all optional): S3_PORT (gateway port; default: a free one), S3_BIND (the gateway's
# address, 127.0.0.1; 0.0.0.0 in a container), S3_LOCAL_MON_PORT,
# S3_ACCESS_KEY / S3_SECRET_KEY (default local-access-key / local-secret-key), S3_REGION (us-east-1;
# the gateway accepts any region in the signature), S3_LOCAL_MEM_MB (memstore capacity, default 4096:
# objects live in the OSD's memory, RAM is used only as data is written), S3_LOCAL_START_TIMEOUT (s, 120).
# Installs ceph-mon ceph-osd radosgw ceph-common with apt-get (--no-install-recommends) when missing.
# Every start wipes DIR's cluster (DIR/mon DIR/osd DIR/log DIR/run ...): each run begins empty.
set -eEuo pipefail

PKGS=(ceph-mon ceph-osd radosgw ceph-common)
BINS=(ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool)
DAEMONS=(rgw osd mon)   # stop order

log() { echo "s3-local: $*" >&2; }
T_START=$(date +%s%N)
phase() { [ "${S3_LOCAL_DEBUG:-0}" = 1 ] && log "$(( ($(date +%s%N) - T_START) / 1000000 )) ms: $*"; return 0; }
die() { log "ERROR: $*"; exit 1; }

usage() { echo "usage: $0 start|stop|status|stop-gateway|start-gateway DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
CMD=$1
if [ "$CMD" = start ]; then mkdir -p "$2"; elif [ ! -d "$2" ]; then [ "$CMD" = stop ] && exit 0 || exit 1; fi
D=$(cd "$2" && pwd)
CONF="$D/ceph.conf"
unset CEPH_ARGS; export CEPH_CONF="$CONF"

alive() {  # alive NAME -> 0 if the pid in DIR/run/NAME.pid is ours and running
  local f="$D/run/$1.pid" pid cmd
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  # the pid must still be our daemon: its command line names this DIR's ceph.conf (a zombie has none)
  [[ $cmd == *"$CONF"* ]]
}

stop_all() {  # one at a time, gateway -> osd -> mon: the osd waits up to 5 s for a mon to ack its exit
  local name pid i
  for name in "${DAEMONS[@]}"; do
    alive "$name" || { rm -f "$D/run/$name.pid"; continue; }
    pid=$(cat "$D/run/$name.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do alive "$name" || break; sleep 0.05; done   # up to 7.5 s
    if alive "$name"; then
      log "$name (pid $pid) ignored TERM, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      for i in $(seq 1 100); do alive "$name" || break; sleep 0.05; done
    fi
    alive "$name" || rm -f "$D/run/$name.pid"
  done
}

print_env() { cat "$D/s3.env"; }

install_pkgs() {
  local b missing=0 sudo=
  for b in "${BINS[@]}"; do command -v "$b" >/dev/null 2>&1 || missing=1; done
  [ $missing = 0 ] && return 0
  [ "$(id -u)" = 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  log "installing ${PKGS[*]} with apt-get (once per machine; log: $D/apt.log)"
  local t0=$SECONDS opts=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=600)
  if ! $sudo apt-get install "${opts[@]}" "${PKGS[@]}" >"$D/apt.log" 2>&1; then
    log "apt-get install failed; running apt-get update and retrying"
    $sudo apt-get update -q >>"$D/apt.log" 2>&1 || true
    $sudo apt-get install "${opts[@]}" "${PKGS[@]}" >>"$D/apt.log" 2>&1 \
      || { tail -20 "$D/apt.log" >&2; die "apt-get install ${PKGS[*]} failed"; }
  fi
  log "packages installed in $((SECONDS - t0)) s"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Below Linux's ephemeral range (32768-60999), from which outgoing connections take their local ports.
free_port() {
  local candidate
  while :; do
    candidate=$((20000 + RANDOM % 12000))
    port_in_use "$candidate" || { echo "$candidate"; return; }
  done
}

http_ok() (  # http_ok PORT: an anonymous "GET /" answers 200 (the gateway's empty bucket list)
  exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  IFS= read -r -t 5 line <&3 || exit 1
  [[ $line == "HTTP/1."?" 200"* ]]
)

spawn() {  # spawn NAME CMD... : run a daemon in the foreground of its own session, record its pid
  local name=$1; shift
  setsid "$@" </dev/null >>"$D/log/$name.out" 2>&1 &
  local pid=$! i
  echo "$pid" >"$D/run/$name.pid"
  # return once the child has become the daemon, so that stop can always recognise it
  for i in $(seq 1 200); do alive "$name" && return 0; kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
  log "$name did not start"; return 1
}

wait_for() {  # wait_for SECONDS WHAT CMD...
  local secs=$1 what=$2 t0=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - t0 >= secs )); then log "timed out after ${secs}s waiting for $what"; return 1; fi
    for n in "${DAEMONS[@]}"; do
      if [ -s "$D/run/$n.pid" ] && ! alive "$n"; then log "$n exited while waiting for $what"; return 1; fi
    done
    sleep 0.2
  done
}

ceph_() { timeout 20 ceph -c "$CONF" --connect-timeout 15 "$@"; }

on_fail() {
  log "start failed; last log lines:"
  for f in "$D"/log/*.out "$D"/log/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -15 "$f" >&2; }; done
  stop_all
}

start() {
  if alive rgw && [ -s "$D/s3.env" ]; then log "already running under $D"; print_env; return 0; fi
  # DIR must be new, empty, or one that s3-local made (it wipes its own sub-folders on every start)
  if [ ! -e "$D/.s3-local" ] && [ -n "$(ls -A "$D")" ]; then
    die "$D is neither empty nor an s3-local folder; give an empty or new folder"
  fi
  touch "$D/.s3-local"
  stop_all   # leftovers from a half-started run
  rm -rf "$D/mon" "$D/osd" "$D/run" "$D/log" "$D/rgw" "$D/crash" "$D/keyring" "$D/monmap" "$D/s3.env" "$CONF"
  mkdir -p "$D/mon" "$D/osd" "$D/run" "$D/log" "$D/rgw" "$D/crash"
  install_pkgs
  trap on_fail ERR

  local ak=${S3_ACCESS_KEY:-local-access-key} sk=${S3_SECRET_KEY:-local-secret-key}
  local region=${S3_REGION:-us-east-1} mem_mb=${S3_LOCAL_MEM_MB:-4096} tmo=${S3_LOCAL_START_TIMEOUT:-120}
  local port=${S3_PORT:-$(free_port)} mon_port=${S3_LOCAL_MON_PORT:-$(free_port)}
  [ "$port" != "$mon_port" ] || mon_port=$(free_port)
  port_in_use "$port" && die "port $port is in use"
  port_in_use "$mon_port" && die "port $mon_port is in use"
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  # unix socket paths are limited to 107 bytes: without room, go without admin sockets (debug only)
  local asok="$D/run/\$name.asok"; (( ${#D} <= 80 )) || asok=""
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

  cat >"$CONF" <<CONF
# written by s3-local.sh; a throw-away single-node cluster on loopback
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
keyring = $D/keyring
run dir = $D/run
admin socket = $asok
log file = $D/log/\$name.log
mon cluster log file = $D/log/cluster.log
crash dir = $D/crash
mon data = $D/mon/\$name
osd data = $D/osd/\$name
osd objectstore = memstore
memstore device bytes = $((mem_mb * 1024 * 1024))
osd crush initial weight = 1
osd crush chooseleaf type = 0
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
# the mon batches map changes for 1 s by default; each pool or OSD state change waits that long
paxos propose interval = 0.05
[client.rgw.a]
# radosgw defaults to a "secure" mon connection, which needs cephx; cephx is off here
ms mon client mode = crc
rgw frontends = beast endpoint=${S3_BIND:-127.0.0.1}:$port
rgw data = $D/rgw
rgw thread pool size = 32
rgw enable usage log = false
rgw dynamic resharding = false
# data of deleted objects stays in the OSD's memory until garbage collection (default: after 2 h)
rgw gc obj min wait = 60
rgw gc processor period = 60
CONF

  ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$D/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring" >>"$D/log/mon.out" 2>&1
  phase "mon mkfs done"
  spawn mon ceph-mon -c "$CONF" -i a -f
  wait_for 30 "the monitor" ceph_ mon stat

  phase "mon up"
  local osd_uuid osd_id; osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_id=$(ceph_ osd new "$osd_uuid")
  mkdir -p "$D/osd/osd.$osd_id"
  phase "osd created in map"
  ceph-osd -c "$CONF" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >>"$D/log/osd.out" 2>&1
  phase "osd mkfs done"
  spawn osd ceph-osd -c "$CONF" -i "$osd_id" -f

  spawn rgw radosgw -c "$CONF" -n client.rgw.a -f
  wait_for "$tmo" "the gateway on port $port" http_ok "$port"
  phase "gateway answers"
  timeout 60 radosgw-admin -c "$CONF" user create --uid=local --display-name=local \
    --access-key="$ak" --secret-key="$sk" >>"$D/log/radosgw-admin.out" 2>&1
  phase "user created"
  trap - ERR

  cat >"$D/s3.env" <<ENV
S3_ENDPOINT=http://127.0.0.1:$port
S3_ACCESS_KEY=$ak
S3_SECRET_KEY=$sk
S3_REGION=$region
S3_FORCE_PATH_STYLE=true
ENV
  log "ready in $(( ($(date +%s%N) - T_START) / 1000000 )) ms (Ceph radosgw $(radosgw --version 2>/dev/null | awk '{print $3}'); logs in $D/log)"
  print_env
}

gateway_port() { sed -n 's|^S3_ENDPOINT=http://127.0.0.1:||p' "$D/s3.env"; }

stop_gateway() {
  alive rgw || return 0
  local pid i; pid=$(cat "$D/run/rgw.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 150); do alive rgw || break; sleep 0.05; done
  alive rgw && kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do alive rgw || break; sleep 0.05; done
  rm -f "$D/run/rgw.pid"
}

start_gateway() {
  [ -s "$D/s3.env" ] && alive osd || die "no cluster runs under $D: start it first"
  alive rgw && return 0
  spawn rgw radosgw -c "$CONF" -n client.rgw.a -f
  wait_for "${S3_LOCAL_START_TIMEOUT:-120}" "the gateway" http_ok "$(gateway_port)"
}

case "$CMD" in
  start) start ;;
  stop-gateway) stop_gateway; log "gateway stopped" ;;
  start-gateway) start_gateway; log "gateway started" ;;
  stop) stop_all; log "stopped" ;;
  status) if alive rgw && [ -s "$D/s3.env" ]; then print_env; else exit 1; fi ;;
  *) usage ;;
esac
