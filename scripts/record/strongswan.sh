#!/usr/bin/env bash
# strongSwan 5.x (Debian's charon + swanctl): initiator and responder each in a network namespace of their own,
# joined by a veth pair, pre-shared keys, recorded on the responder's end of the veth. Variants:
#   ikev2        IKEv2 on UDP 500 only (MOBIKE off, no NAT): IKE_SA_INIT + IKE_AUTH; the kernel IPsec backend
#                (xfrm) negotiates the CHILD_SA, whose ESP the kernel may lack (CONFIG_INET_ESP): no data asked for;
#   ikev2-natt   IKEv2 with `encap = yes` (UDP-encapsulated ESP forced): IKE_SA_INIT on 500, IKE_AUTH on 4500
#                behind the non-ESP marker, then ESP-in-UDP on 4500 (userspace ESP: the kernel-libipsec plugin);
#   ikev2-natt-esp-only  the ESP-in-UDP packets of ikev2-natt alone (a capture that joins after the handshake);
#   ikev2-fragments  as ikev2-natt with IKE fragmentation forced (RFC 7383 SKF payloads; fragments of 200 bytes);
#   ikev2-4500   IKEv2 started on UDP 4500 (`remote_port = 4500`): every IKE message behind the non-ESP marker;
#   ikev1        IKEv1 main mode + quick mode, ESP-in-UDP on 4500 (kernel-libipsec forces UDP encapsulation);
#   ikev1-aggressive  IKEv1 aggressive mode + quick mode, likewise;
#   ikev1-modecfg     as ikev1 with a Mode Config address request (ISAKMP Transaction exchanges, type 6);
#   ikev1-modecfg-transaction  that request and its reply alone;
#   ikev1-fragments   as ikev1 with IKEv1 fragmentation forced (fragment payload 132; fragments of 200 bytes).
# Plain ESP (IP protocol 50) needs the kernel's ESP (CONFIG_INET_ESP): recorded as variant `esp` only when the
# kernel has it, since Debian 12's kernel-libipsec cannot send raw ESP.
source "$(dirname "$0")/lib.sh"
CHARON=/usr/lib/ipsec/charon
LIBIPSEC=/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so
need tcpdump ip swanctl $CHARON $LIBIPSEC
need_tun # kernel-libipsec: userspace ESP through a TUN device
cd "$OUT" || exit 1

source "$REC_ROOT/scripts/record/netns-pair.sh"
RNET=10.232.1.1 INET=10.232.2.1 # the tunnel's inner addresses (traffic selectors)
ip -n $R addr add $RNET/32 dev lo && ip -n $I addr add $INET/32 dev lo || fail "cannot add the inner addresses"

# conf SIDE BACKEND CHARON-OPTIONS: a private strongswan.conf (plugins, vici socket in OUTDIR, log to stderr).
conf() {
  local side=$1 backend=$2
  mkdir -p "$side"
  cat >"$side/strongswan.conf" <<EOF
charon {
  load = random nonce aes sha1 sha2 hmac kdf gmp pem pkcs1 x509 pubkey vici $backend kernel-netlink socket-default
  i_dont_care_about_security_and_use_aggressive_mode_psk = yes
  $3
  plugins {
    vici { socket = unix://$OUT/$side/vici }
  }
  filelog { stderr { default = 1 ike = 2 net = 2 } }
}
swanctl { socket = unix://$OUT/$side/vici }
EOF
}

# swanctl_conf SIDE VERSION LOCAL REMOTE LTS RTS ID PEERID EXTRA: one connection `t` with one child `t`, PSK.
swanctl_conf() {
  cat >"$1/swanctl.conf" <<EOF
connections {
  t {
    version = $2
    local_addrs = $3
    remote_addrs = $4
    proposals = aes128-sha256-modp2048
    $9
    local {
      auth = psk
      id = $7
    }
    remote {
      auth = psk
      id = $8
    }
    children {
      t {
        local_ts = $5
        remote_ts = $6
        esp_proposals = aes128-sha256
      }
    }
  }
}
pools {
  p {
    addrs = 10.235.0.0/28
  }
}
secrets {
  ike-1 {
    id-1 = responder
    id-2 = initiator
    secret = tunnelscope-recording-psk
  }
}
EOF
}

# nsx NS SIDE CMD…: run CMD in namespace NS with SIDE's strongswan.conf.
nsx() { local ns=$1 side=$2; shift 2; ip netns exec "$ns" env STRONGSWAN_CONF="$OUT/$side/strongswan.conf" "$@"; }

# record NAME VERSION BACKEND DATA(yes/no) CONNECTION-OPTIONS [CHARON-OPTIONS [RESPONDER-ONLY [INITIATOR-ONLY]]]: one
# recording of a variant; false (with REC_WHY set) when the IKE or CHILD SA was not established in time.
record() {
  local name=$1 ver=$2 backend=$3 data=$4 extra=$5 side ns k
  conf "$name-r" "$backend" "${6:-}"
  conf "$name-i" "$backend" "${6:-}"
  swanctl_conf "$name-r" "$ver" $RA $IA $RNET/32 $INET/32 responder initiator "$extra ${7:-}"
  swanctl_conf "$name-i" "$ver" $IA $RA $INET/32 $RNET/32 initiator responder "$extra ${8:-}"
  capture "strongswan-$name.pcap" $RV "ip and host $IA" $R
  for side in r i; do
    ns=$R; [ $side = i ] && ns=$I
    rm -f "$name-$side/vici" # an earlier attempt's socket would be taken for this charon's
    # charon keeps its pid file in /run: a private /run (this mount namespace only) lets two run side by side.
    bg "strongswan-$name-charon-$side" timeout 60 ip netns exec $ns env STRONGSWAN_CONF="$OUT/$name-$side/strongswan.conf" \
      sh -c "mount -t tmpfs tunnelscope-run /run && exec $CHARON"
    for k in $(seq 100); do [ -S "$name-$side/vici" ] && break; sleep 0.1; done
    [ -S "$name-$side/vici" ] || fail "$name: charon ($side) did not open its vici socket (strongswan-$name-charon-$side.log)"
    nsx $ns "$name-$side" timeout 10 swanctl --load-all --file "$OUT/$name-$side/swanctl.conf" >"strongswan-$name-load-$side.log" 2>&1 ||
      fail "$name: swanctl --load-all ($side) failed (strongswan-$name-load-$side.log)"
  done
  # charon retransmits an unanswered request 4, 11.2 and 24.2 s after the first send: the wait (25 s, inside each
  # charon's 60 s bound, which also covers a slow start on a loaded host) outlasts a lost message or two.
  nsx $I "$name-i" timeout 25 swanctl --initiate --child t --timeout 20 >"strongswan-$name-initiate.log" 2>&1
  REC_WHY=""
  wait_for "strongswan-$name-charon-i.log" "IKE_SA t\[[0-9]*\] established" 5 || REC_WHY="the IKE SA was not established"
  [ -z "$REC_WHY" ] && [ "$data" = yes ] && ! grep -q "CHILD_SA t{[0-9]*} established" "strongswan-$name-charon-i.log" &&
    REC_WHY="the CHILD_SA was not established"
  if [ -n "$REC_WHY" ]; then
    stop_capture
    stop_peers
    return 1
  fi
  if [ "$data" = yes ]; then
    # A few datagrams into the tunnel (routed over ipsec0 by the CHILD_SA's route); the responder answers each
    # with ICMP port unreachable, so both directions carry ESP.
    for k in 1 2 3 4; do nsx $I "$name-i" bash -c "echo tunnelscope-probe-$k >/dev/udp/$RNET/9"; sleep 0.2; done
  fi
  sleep 0.5
  stop_capture
  stop_peers
}

# variant NAME …: record (same arguments); a handshake that did not complete in time (a loaded host, a lost
# message past charon's retransmissions) is recorded once more, the first attempt's logs kept as *.try1.log and
# shown on stderr; a second failure fails the recorder with both attempts' logs named.
variant() {
  local name=$1 f
  record "$@" && return 0
  echo "strongswan $name: attempt 1: $REC_WHY; recording again" >&2
  for f in charon-i charon-r initiate; do
    [ -f "strongswan-$name-$f.log" ] && mv "strongswan-$name-$f.log" "strongswan-$name-$f.try1.log"
  done
  tail -n 15 "strongswan-$name-charon-i.try1.log" 2>/dev/null | sed 's/^/  /' >&2
  record "$@" && return 0
  fail "$name: $REC_WHY, twice (strongswan-$name-charon-i.log, strongswan-$name-charon-r.log, strongswan-$name-initiate.log, strongswan-$name-charon-i.try1.log)"
}

variant ikev2 2 "" no "mobike = no"
# Plain ESP needs the kernel's: ask it for one AES-CBC/HMAC-SHA256 SA and take it away again.
if ip -n $R xfrm state add src $RA dst $IA proto esp spi 0x1000 mode tunnel enc 'cbc(aes)' 0x$(printf '%032d' 0) \
  auth-trunc 'hmac(sha256)' 0x$(printf '%064d' 0) 128 2>/dev/null; then
  ip -n $R xfrm state flush
  variant esp 2 "" yes "mobike = no"
else
  echo "note: this kernel has no ESP (CONFIG_INET_ESP): variant esp (IKEv2 + ESP on IP protocol 50) not recorded" >&2
fi
variant ikev2-natt 2 kernel-libipsec yes "encap = yes"
# The same ESP-in-UDP as a capture that started after the handshake sees it: no IKE, no keepalive.
tcpdump -r strongswan-ikev2-natt.pcap -w strongswan-ikev2-natt-esp-only.pcap 'udp port 4500 and udp[8:4] != 0 and udp[4:2] > 9' 2>/dev/null ||
  fail "tcpdump could not filter strongswan-ikev2-natt.pcap"
variant ikev2-fragments 2 kernel-libipsec yes "fragmentation = force" "fragment_size = 200"
variant ikev2-4500 2 kernel-libipsec yes "remote_port = 4500"
variant ikev1 1 kernel-libipsec yes ""
variant ikev1-aggressive 1 kernel-libipsec yes "aggressive = yes"
variant ikev1-modecfg 1 kernel-libipsec yes "" "" "pools = p" "vips = 0.0.0.0"
# The Mode Config exchange alone (a capture that starts after phase 1): the ISAKMP exchange type (offset 18 of the
# header behind the 4-byte non-ESP marker, so UDP payload byte 22) is 6.
tcpdump -r strongswan-ikev1-modecfg.pcap -w strongswan-ikev1-modecfg-transaction.pcap 'udp port 4500 and udp[8:4] = 0 and udp[30] = 6' \
  2>/dev/null || fail "tcpdump could not filter strongswan-ikev1-modecfg.pcap"
variant ikev1-fragments 1 kernel-libipsec yes "fragmentation = force" "fragment_size = 200"
exit 0
