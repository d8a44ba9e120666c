#!/usr/bin/env bash
# tinc 1.0 (Debian's tinc): two tincd on loopback (node A on 127.0.0.1, node B on 127.0.0.2) with
# `DeviceType = dummy` (no tun device), node A connecting to node B; each listens on TCP and UDP on its own port.
# Variants: the defaults (meta connection over TCP, packets over UDP: the PMTU probes tinc sends as soon as the
# session key is known), AES-256/SHA-256 instead of the default Blowfish/SHA-1, and `TCPOnly = yes` (everything
# over the meta connection). Each variant runs until node A logs its meta connection activated and a few probes or
# pings have crossed. A variant in which node A had to connect more than once is recorded again (at most 3 times).
source "$(dirname "$0")/lib.sh"
need tincd
cd "$OUT" || exit 1

n=0
node() { # DIR NAME ADDRESS PORT EXTRA-LINE…
  local d=$1 name=$2 ip=$3 p=$4; shift 4
  mkdir -p "$d/hosts"
  { echo "Name = $name"; echo "DeviceType = dummy"; echo "AddressFamily = ipv4"; echo "BindToAddress = $ip"
    echo "Port = $p"; echo "PingInterval = 1"; printf '%s\n' "$@"; } >"$d/tinc.conf"
  printf 'Address = %s\nPort = %s\nSubnet = 10.%s.0.0/16\n' "$ip" "$p" "$(( ${ip##*.} + 20 ))" >"$d/hosts/$name"
  tincd -c "$d" -K2048 </dev/null >"$d/keygen.log" 2>&1 || fail "tincd -K failed ($d/keygen.log)"
}

# record NAME ATTEMPT EXTRA-LINE…: one recording of a variant; false when node B saw more than one meta connection
# (node A retries a connection that failed or timed out, which a loaded host can cause: the capture then holds two
# meta connections, which the tests do not describe).
record() {
  local name=$1 try=$2 pa pb; shift 2
  pa=$(port $n); pb=$(port $((n + 1))); n=$((n + 2))
  local a="tinc-$name-a" b="tinc-$name-b"
  rm -rf "$a" "$b"
  node "$a" tsa$$ 127.0.0.1 "$pa" "ConnectTo = tsb$$" "$@"
  node "$b" tsb$$ 127.0.0.2 "$pb" "$@"
  cp "$a/hosts/tsa$$" "$b/hosts/"; cp "$b/hosts/tsb$$" "$a/hosts/"
  capture "tinc-$name.pcap" lo "host 127.0.0.2 and (port $pa or port $pb)"
  bg "tinc-$name-b" timeout 30 tincd -c "$b" -D -d3 --pidfile="$OUT/$b.pid"
  wait_for "tinc-$name-b.log" "Ready" 10 || fail "$name: node B did not start (tinc-$name-b.log)"
  bg "tinc-$name-a" timeout 30 tincd -c "$a" -D -d3 --pidfile="$OUT/$a.pid"
  wait_for "tinc-$name-a.log" "activated" 15 || fail "$name: node A did not connect (tinc-$name-a.log)"
  sleep 2.5 # session keys, PMTU probes (UDP) or pings (meta connection)
  stop_capture
  local meta; meta=$(grep -c "Connection from" "tinc-$name-b.log")
  stop_peers
  [ "$meta" -eq 1 ] && return 0
  echo "tinc $name: attempt $try: node B saw $meta meta connections; recording again" >&2
  mv "tinc-$name-a.log" "tinc-$name-a.try$try.log"; mv "tinc-$name-b.log" "tinc-$name-b.try$try.log"
  return 1
}

variant() { # NAME EXTRA-LINE…
  local try
  for try in 1 2 3; do record "$1" "$try" "${@:2}" && return 0; done
  fail "$1: node B saw more than one meta connection in each of 3 attempts (tinc-$1-b.try3.log, tinc-$1-a.try3.log)"
}

variant default
variant aes "Cipher = aes-256-cbc" "Digest = sha256"
variant tcponly "TCPOnly = yes"
exit 0
