# Shared by scripts/record/*.sh: each runs a real VPN implementation (Debian's package) on this host, client and
# server on loopback or in network namespaces of its own, and records what crosses with the real tcpdump.
#
# Contract of every recorder (test/helpers/real-recording.ts relies on it):
#   bash scripts/record/<impl>.sh OUTDIR    → OUTDIR/<impl>-<variant>.pcap, one per variant, and exit 0;
#   exit 77 with "skip: <reason>" on stderr when this host cannot run it (tool not installable, no /dev/net/tun,
#   no capture or namespace permission); any other non-zero exit is a failure worth reading (logs in OUTDIR).
# Everything it starts (processes, namespaces, interfaces) carries this run's pid in its name and is removed on exit,
# whatever happened; every wait is bounded.
set -uo pipefail

REC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:?usage: $0 OUTDIR}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)" # absolute: the recorders cd into it, and bg, need and capture write below it
REC_PIDS=()
REC_CLEANUP=()

skip() { echo "skip: $*" >&2; exit 77; }
# fail MESSAGE: exit 1 with MESSAGE and the last lines of each log it names (a `name.log` in OUTDIR): the tests show
# a recorder's stderr, and on a CI machine OUTDIR is gone by the time anyone reads it.
fail() {
  echo "fail: $*" >&2
  local f
  for f in $(grep -o '[A-Za-z0-9_./-]*\.log' <<<"$*" | awk '!seen[$0]++' | head -4); do
    [ -f "$f" ] || f="$OUT/$f"
    [ -f "$f" ] || continue
    echo "--- last lines of ${f#"$OUT/"}:" >&2
    tail -n 30 "$f" | sed 's/^/  /' >&2
  done
  exit 1
}

rec_cleanup() {
  local p c
  for p in "${REC_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${REC_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for c in "${REC_CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1; done
}
trap rec_cleanup EXIT

# need TOOL…: install from Debian when missing (scripts/ensure-tools.sh), else skip.
need() {
  bash "$REC_ROOT/scripts/ensure-tools.sh" "$@" >/dev/null 2>"$OUT/ensure-tools.log" || skip "tools missing: $* ($(tr '\n' ' ' <"$OUT/ensure-tools.log"))"
}

# bg NAME CMD…: start CMD in the background, its output in OUTDIR/NAME.log, killed at exit.
bg() {
  local name=$1; shift
  "$@" >"$OUT/$name.log" 2>&1 &
  REC_PIDS+=($!)
}

# capture FILE IFACE FILTER [NETNS]: start tcpdump (in NETNS when given) and return once it listens (or fail after
# 10 s). Sets CAP_PID.
capture() {
  local file=$1 iface=$2 filter=$3 log="$OUT/tcpdump-$(basename "$1" .pcap).log" i in=()
  [ -n "${4:-}" ] && in=(ip netns exec "$4")
  # --immediate-mode: without it libpcap hands packets over per ring-buffer block (up to 1 s late), and the SIGINT
  # of stop_capture drops the block not yet handed over: a packet in the last second before the stop was lost.
  "${in[@]}" tcpdump --immediate-mode -i "$iface" -n -U -w "$file" "$filter" >"$log" 2>&1 &
  CAP_PID=$!
  REC_PIDS+=("$CAP_PID")
  for i in $(seq 100); do
    grep -q "listening on" "$log" 2>/dev/null && return 0
    kill -0 "$CAP_PID" 2>/dev/null || break
    sleep 0.1
  done
  grep -qi "permission\|not permitted" "$log" && skip "tcpdump may not capture on $iface: $(tail -1 "$log")"
  fail "tcpdump did not start on $iface: $(tail -1 "$log")"
}

# stop_capture: let tcpdump write what it has and exit.
stop_capture() {
  sleep 0.3
  kill -INT "$CAP_PID" 2>/dev/null
  local i; for i in $(seq 50); do kill -0 "$CAP_PID" 2>/dev/null || return 0; sleep 0.1; done
}

# stop_peers [N]: stop the last N (default 2) processes started with bg and wait (bounded) until each is gone, so the
# next variant finds its ports and devices free.
stop_peers() {
  local pids=("${REC_PIDS[@]: -${1:-2}}") p i
  kill "${pids[@]}" 2>/dev/null
  for p in "${pids[@]}"; do
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
}

# wait_for FILE PATTERN SECONDS: true once FILE contains PATTERN, false after SECONDS.
wait_for() {
  local i; for i in $(seq $(( $3 * 10 ))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# port: a free-looking port from this pid, so parallel runs do not collide (20000-59999).
port() { echo $(( 20000 + ($$ * 7 + ${1:-0} * 131) % 40000 )); }

need_tun() { [ -c /dev/net/tun ] || skip "no /dev/net/tun"; }

# netns NAME: create a network namespace removed at exit (skip when not permitted).
netns() {
  ip netns add "$1" 2>"$OUT/netns.log" || skip "may not create a network namespace: $(cat "$OUT/netns.log")"
  # Whatever still runs in the namespace goes with it (a daemon's forked helper outlives the process started).
  REC_CLEANUP+=("ip netns pids $1 | xargs -r kill -9; ip netns del $1")
  ip -n "$1" link set lo up
}
