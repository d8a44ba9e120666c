#!/usr/bin/env bash
# WireGuard as wireguard-go (Debian's userspace implementation; this kernel may have no module) and wg(8): two
# interfaces in a network namespace of this run, peers on its loopback over IPv4 and over IPv6; a few datagrams
# into the tunnel make the handshake, transport data both ways, and keepalives.
source "$(dirname "$0")/lib.sh"
need wg wireguard-go tcpdump ip
need_tun
ns="tsrec-wg-$$"
netns "$ns"
cd "$OUT" || exit 1
umask 077; wg genkey >k1 && wg genkey >k2 || fail "wg genkey"
p1=$(wg pubkey <k1) p2=$(wg pubkey <k2)

variant() { # NAME LOOPBACK-ADDRESS INNER-PREFIX
  local name=$1 lo=$2 inner=$3 a="w$$a" b="w$$b" pa pb
  pa=$(port 1) pb=$(port 2)
  capture "wireguard-$name.pcap" lo "udp and (port $pa or port $pb)" "$ns"
  for i in $a $b; do
    bg "wireguard-$name-$i" ip netns exec "$ns" timeout 30 wireguard-go -f "$i"
  done
  local i; for i in $(seq 50); do ip -n "$ns" link show "$b" >/dev/null 2>&1 && ip -n "$ns" link show "$a" >/dev/null 2>&1 && break; sleep 0.1; done
  local ep1="$lo:$pb" ep2="$lo:$pa"
  [[ $lo == *:* ]] && ep1="[$lo]:$pb" ep2="[$lo]:$pa"
  # The responder first: a's persistent keepalive starts a handshake as soon as a is configured, and a lost first
  # initiation is retried only after 5 s (REKEY_TIMEOUT).
  ip netns exec "$ns" wg set "$b" listen-port "$pb" private-key k2 peer "$p1" allowed-ips "$inner.1/32" endpoint "$ep2" || fail "wg set $b"
  ip -n "$ns" link set "$b" up
  sleep 0.3
  ip netns exec "$ns" wg set "$a" listen-port "$pa" private-key k1 peer "$p2" allowed-ips "$inner.2/32" endpoint "$ep1" persistent-keepalive 1 || fail "wg set $a"
  ip -n "$ns" addr add "$inner.1/32" dev "$a"
  ip -n "$ns" link set "$a" up
  ip -n "$ns" route add "$inner.2/32" dev "$a"
  # Datagrams into the tunnel: the first makes wireguard-go start its handshake.
  for i in 1 2 3 4; do ip netns exec "$ns" bash -c "echo tunnelscope-$i >/dev/udp/$inner.2/9" 2>/dev/null; sleep 0.4; done
  ip netns exec "$ns" wg show "$a" latest-handshakes | grep -qv '	0$' || fail "$name: no handshake (wireguard-$name-*.log)"
  sleep 1.5
  stop_capture
  stop_peers
  for i in $(seq 50); do ip -n "$ns" link show "$a" >/dev/null 2>&1 || break; sleep 0.1; done
  ip -n "$ns" link del "$a" 2>/dev/null; ip -n "$ns" link del "$b" 2>/dev/null
}

variant ipv4 127.0.0.1 10.231.0
variant ipv6 ::1 10.231.1
exit 0
