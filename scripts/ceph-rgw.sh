#!/usr/bin/env bash
# Starts and stops a throwaway single-node Ceph cluster with an S3 endpoint (RADOS Gateway),
# for Berth's S3 tests, CI and local experiments. No systemd and nothing outside one folder:
# one monitor, one OSD on a sparse file with BlueStore, pools of size 1, radosgw with the beast
# frontend on loopback, and one S3 user with known keys.
#
#   scripts/ceph-rgw.sh start    start (or reuse a running cluster); prints the env file
#   scripts/ceph-rgw.sh stop     stop the daemons and remove the folder
#   scripts/ceph-rgw.sh status   exit 0 when the S3 endpoint answers
#   scripts/ceph-rgw.sh env      print the env file (S3_ENDPOINT, S3_ACCESS_KEY_ID, ...)
#
# Needs: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw
# Settings (environment): BERTH_CEPH_DIR (default /tmp/berth-ceph), BERTH_CEPH_RGW_PORT
# (default 37480), BERTH_CEPH_MON_PORT (default 36789), BERTH_CEPH_ACCESS_KEY,
# BERTH_CEPH_SECRET_KEY. The env file is $BERTH_CEPH_DIR/env.
set -euo pipefail

DIR=${BERTH_CEPH_DIR:-/tmp/berth-ceph}
RGW_PORT=${BERTH_CEPH_RGW_PORT:-37480}
MON_PORT=${BERTH_CEPH_MON_PORT:-36789}
ACCESS_KEY=${BERTH_CEPH_ACCESS_KEY:-berthtestaccesskey}
SECRET_KEY=${BERTH_CEPH_SECRET_KEY:-berthtestsecretkey0123456789}
CONF=$DIR/ceph.conf
ENDPOINT=http://127.0.0.1:$RGW_PORT

log() { echo "ceph-rgw: $*" >&2; }
T0=$(date +%s.%N)
phase() { [[ -n ${BERTH_CEPH_VERBOSE:-} ]] && log "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s: $*"; return 0; }
die() { log "$*"; exit 1; }

rgw_up() { curl -s -o /dev/null --max-time 2 "$ENDPOINT/" 2>/dev/null; }

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_env() {
  cat >"$DIR/env.tmp" <<EOF
S3_ENDPOINT=$ENDPOINT
S3_REGION=us-east-1
S3_ACCESS_KEY_ID=$ACCESS_KEY
S3_SECRET_ACCESS_KEY=$SECRET_KEY
S3_FORCE_PATH_STYLE=true
EOF
  mv "$DIR/env.tmp" "$DIR/env"
}

write_conf() {
  local fsid=$1
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT]
public addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
ms bind port min = 36800
ms bind port max = 36899
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
ms mon client mode = crc
ms client mode = crc
ms mon service mode = crc
ms service mode = crc
ms mon cluster mode = crc
ms cluster mode = crc
keyring = $DIR/keyring
run dir = $DIR/run
crash dir = $DIR/crash
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
log to syslog = false
err to syslog = false
clog to syslog = false
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
exporter sock dir = $DIR/run
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
# Every pool radosgw creates is an osdmap epoch; the default of one proposal a second makes
# the first start take ~10 s longer.
paxos propose interval = 0.05
paxos min wait = 0.01

[mon]
mon data = $DIR/mon/\$name

[osd]
osd data = $DIR/osd/\$id
osd objectstore = bluestore
bluestore block create = true
bluestore block size = 21474836480
bluestore fsck on mkfs = false
bluestore cache autotune = false
bluestore cache size = 268435456
osd memory target = 1073741824
osd heartbeat grace = 60

[client.rgw]
rgw data = $DIR/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw dns name = 127.0.0.1
rgw enable usage log = false
rgw num control oids = 1
rgw init timeout = 60
EOF
}

ceph_cmd() { ceph -c "$CONF" --connect-timeout 10 "$@"; }

start() {
  if [[ -f $DIR/env ]] && pid_alive "$DIR/run/client.rgw.pid" && rgw_up; then
    cat "$DIR/env"
    return 0
  fi
  for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool curl uuidgen; do
    command -v "$bin" >/dev/null || die "$bin not found (apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw)"
  done
  stop_daemons
  rm -rf "$DIR/mon" "$DIR/osd" "$DIR/rgw" "$DIR/run" "$DIR/log" "$DIR/crash" "$DIR/env"
  mkdir -p "$DIR/mon/mon.a" "$DIR/osd/0" "$DIR/rgw" "$DIR/run" "$DIR/log" "$DIR/crash"
  local t0=$SECONDS fsid
  fsid=$(uuidgen)
  write_conf "$fsid"

  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" --keyring "$DIR/keyring"
  ceph-mon -c "$CONF" -i a 9>&-
  phase "mon started"

  local osd_uuid
  osd_uuid=$(uuidgen)
  ceph_cmd osd new "$osd_uuid" >/dev/null
  phase "osd created"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" 2>>"$DIR/log/mkfs.log" >/dev/null
  phase "osd mkfs done"
  ceph-osd -c "$CONF" -i 0 9>&- 2>>"$DIR/log/osd.0.stderr"

  for _ in $(seq 1 120); do
    ceph_cmd osd dump 2>/dev/null | grep -q '^osd.0 up' && break
    sleep 0.25
  done
  ceph_cmd osd dump | grep -q '^osd.0 up' || die "osd.0 did not come up (see $DIR/log)"

  phase "osd up"
  radosgw -c "$CONF" -n client.rgw 9>&- 2>>"$DIR/log/rgw.stderr"
  for _ in $(seq 1 240); do
    rgw_up && break
    sleep 0.25
  done
  rgw_up || die "radosgw did not answer on $ENDPOINT (see $DIR/log)"
  phase "rgw answers"
  radosgw-admin -c "$CONF" user create --uid=berth --display-name=berth \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>>"$DIR/log/admin.log"
  write_env
  log "ready at $ENDPOINT in $((SECONDS - t0)) s (folder $DIR)"
  cat "$DIR/env"
}

stop_daemons() {
  local pids=() f
  for f in "$DIR/run/client.rgw.pid" "$DIR/run/osd.0.pid" "$DIR/run/mon.a.pid"; do
    if pid_alive "$f"; then pids+=("$(cat "$f")"); fi
  done
  [[ ${#pids[@]} -eq 0 ]] && return 0
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 1 60); do
    local alive=0 p
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [[ $alive -eq 0 ]] && return 0
    sleep 0.25
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
}

stop() {
  stop_daemons
  rm -rf "$DIR"
}

cmd=${1:-}
mkdir -p "$DIR"
# One caller at a time: tests running in parallel may all ask for the cluster.
exec 9>"$DIR.lock"
flock 9
case $cmd in
  start) start ;;
  stop) stop ;;
  status) [[ -f $DIR/env ]] && rgw_up ;;
  env) [[ -f $DIR/env ]] && cat "$DIR/env" ;;
  *) die "usage: $0 start|stop|status|env" ;;
esac
