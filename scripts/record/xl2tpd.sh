#!/usr/bin/env bash
# xl2tpd (Debian's), an LAC (client, `autodial`) and an LNS (server) each in a network namespace of their own,
# joined by a veth pair, recorded on the LNS's end. Plain L2TPv2 over UDP 1701, no IPsec. Each variant runs the
# control connection (SCCRQ/SCCRP/SCCCN, ICRQ/ICRP/ICCN, ZLB acks) and then a few data messages: pppd is
# replaced by scripts/record/pppd-standin (LCP Configure-Requests), since the kernel may have no PPP, so xl2tpd's
# own userspace data path frames them. Variants:
#   length      data messages with the length bit (`length bit = yes`);
#   nolength    data messages without it (the header then has no length field);
#   challenge   tunnel authentication (Challenge / Challenge Response AVPs, shared secret) with `hidden bit = yes`:
#               xl2tpd 1.3.18 then adds a Random Vector AVP to each message (but hides no AVP value);
#   data-only, nolength-data-only   the data messages of `length` / `nolength` alone (a capture that joins after
#               the control exchange);
#   acfc, acfc-pfc   as `length` / `nolength`, and after its LCP frames the stand-in writes three IPv4 frames each way
#               the way a pppd that negotiated ACFC (acfc-pfc: ACFC and PFC) sends them: no FF 03, protocol 00 21 (21).
#               The stand-in's framing, not a real pppd's (see pppd-standin); xl2tpd's userspace path carries them as
#               written, as it would carry a real pppd's;
#   acfc-data-only, acfc-pfc-data-only   of those, the data messages whose PPP frame does not start with FF 03
#               alone: a capture that starts after LCP (a gateway restart, a late capture).
source "$(dirname "$0")/lib.sh"
need tcpdump ip xl2tpd pppd
cd "$OUT" || exit 1
source "$REC_ROOT/scripts/record/netns-pair.sh"
STANDIN="$REC_ROOT/scripts/record/pppd-standin"

# conf DIR ADDRESS LENGTH-BIT EXTRA SECTION-LINES…: DIR/xl2tpd.conf listening on ADDRESS, with one LNS or LAC section.
conf() {
  local dir=$1 addr=$2 lbit=$3 extra=$4; shift 4
  printf '%s\n' "[global]" "listen-addr = $addr" "port = 1701" "access control = no" "$@" "require authentication = no" \
    "pppoptfile = $OUT/$dir/options" "length bit = $lbit" "$extra" >"$dir/xl2tpd.conf"
}

variant() { # NAME LENGTH-BIT(yes/no) [EXTRA-OPTIONS (both sides)] [PPPD_STANDIN_DATA]
  local name=$1 lbit=$2 extra=${3:-} data=${4:-} side ns
  mkdir -p "$name-r" "$name-i"
  conf "$name-r" $RA "$lbit" "$extra" "[lns default]" "ip range = 10.233.0.2-10.233.0.9" "local ip = 10.233.0.1"
  conf "$name-i" $IA "$lbit" "$extra" "[lac tunnelscope]" "lns = $RA" "autodial = yes" "redial = no"
  touch "$name-r/options" "$name-i/options"
  echo '* * tunnelscope-recording-secret' >"$name-r/secrets"
  cp "$name-r/secrets" "$name-i/secrets"
  capture "xl2tpd-$name.pcap" $RV "ip and host $IA" $R
  for side in r i; do
    ns=$R; [ $side = i ] && ns=$I
    # The stand-in covers /usr/sbin/pppd in this process's mount namespace only (ip netns exec makes a new one).
    bg "xl2tpd-$name-$side" timeout 30 ip netns exec $ns sh -c "mount --bind '$STANDIN' /usr/sbin/pppd &&
      PPPD_STANDIN_DATA='$data' exec xl2tpd -D -c '$OUT/$name-$side/xl2tpd.conf' -s '$OUT/$name-$side/secrets' -p '$OUT/$name-$side/pid' -C '$OUT/$name-$side/control'"
    wait_for "xl2tpd-$name-$side.log" "Listening on IP address" 5 || fail "$name: xl2tpd ($side) did not start (xl2tpd-$name-$side.log)"
  done
  wait_for "xl2tpd-$name-i.log" "Call established" 10 || fail "$name: no call was established (xl2tpd-$name-i.log)"
  sleep 2.7 # the stand-ins' eight LCP frames each way
  [ -n "$data" ] && sleep 1 # and their three data frames
  stop_capture
  stop_peers
}

variant length yes
variant nolength no
variant challenge yes "challenge = yes
hidden bit = yes"
variant acfc yes "" acfc
variant acfc-pfc no "" acfc-pfc
# The data messages alone: T bit (first byte's top bit) clear.
data_only() { # FROM TO [MORE-FILTER]
  tcpdump -r "xl2tpd-$1.pcap" -w "xl2tpd-$2.pcap" "udp[8] & 0x80 == 0${3:+ and ($3)}" 2>/dev/null || fail "tcpdump could not filter xl2tpd-$1.pcap"
}
data_only length data-only
data_only nolength nolength-data-only
# PPP frame at L2TP offset 8 with the length bit (udp[16]), 6 without (udp[14]); xl2tpd sets neither S nor O on data.
NO_FF03='(udp[8] & 0x40 != 0 and udp[16] != 0xff) or (udp[8] & 0x40 = 0 and udp[14] != 0xff)'
data_only acfc acfc-data-only "$NO_FF03"
data_only acfc-pfc acfc-pfc-data-only "$NO_FF03"
exit 0
