#!/usr/bin/env bash
# SoftEther VPN (Debian's softether-vpnserver, -vpnclient, -vpncmd 5.01): the server in one network namespace, the
# clients in another, joined by a veth pair (scripts/record/netns-pair.sh), recorded on the server's end. The server
# is set up with vpncmd alone: a virtual hub with SecureNAT (its DHCP gives OpenVPN's tun mode an address), one
# password user, the OpenVPN listener (ProtoOptionsSet OpenVPN Enabled; this 5.x build has no OpenVpnEnable) and
# raw L2TP (IPsecEnable /L2TPRAW). Variants:
#   openvpn-udp       Debian's openvpn client over UDP 1194 with the cipher/auth of the server's OpenVpnMakeConfig
#                     sample (AES-128-CBC, SHA1: no cleartext packet id in the data channel);
#   openvpn-udp-gcm   the same with AES-256-GCM (P_DATA_V1 with its AEAD packet id in clear), a longer session;
#   openvpn-tcp       openvpn over TCP to 443, a port SoftEther's own protocol listens on too;
#   native-443        vpnclient over TCP 443 (TLS), its defaults (UDP acceleration allowed); with MaxConnection 1
#                     (the default, and AccountDetailSet /MAXTCP:1 alike) this build still opens a second TCP
#                     connection a second after the first, and its status says "Maximum Number of TCP Connections 2";
#   native-ddns-name  the same to the server by a name under softether.net (SoftEther's dynamic-DNS domain), which
#                     the client sends as the TLS server name;
#   native-5555-noudp vpnclient over TCP 5555, UDP acceleration off (AccountDetailSet, which wants every option, with
#                     /DISABLEUDP:yes);
#   l2tp              xl2tpd as LAC against SoftEther's raw L2TP (UDP 1701, no IPsec), pppd-standin for PPP;
#   natt              the whole run, UDP to port 5004 of the NAT-traversal server (an address of the client side that
#                     the server's own /etc/hosts gives every x<c>.x<c>.dev.servers.nat-traversal name): the server's
#                     R-UDP socket sends its get_token Pack and one-byte 41 queries, each UDP acceleration socket
#                     one-byte 42 queries; nothing answers.
# The openvpn and l2tp captures keep the tunnel's port only (SoftEther's server also sends NetBIOS name queries to
# each client); the native captures keep everything between the two hosts (TLS, UDP acceleration and the client's
# R-UDP "VPN over ICMP / DNS" attempts). The vpnclient status after each native session is kept in
# softether-native-*-status.log.
#
# SoftEther keeps its state in fixed paths (/var/lib/softether, /var/log/softether, /run/softether in this build):
# each daemon runs in a mount namespace of its own where those parents are this run's directories, and in a pid
# namespace of its own so that no process of it (execsvc forks a watchdog) outlives the recorder.
source "$(dirname "$0")/lib.sh"
need tcpdump ip vpnserver vpnclient vpncmd openvpn xl2tpd pppd
need_tun
cd "$OUT" || exit 1
source "$REC_ROOT/scripts/record/netns-pair.sh"
STANDIN="$REC_ROOT/scripts/record/pppd-standin"
HUB=TS USER=tsuser PASS=ts-recording-pass
# An invented name under SoftEther's dynamic-DNS domain, resolved to the server by the daemons' own /etc/hosts.
DDNS_NAME=tunnelscope-test.softether.net
mkdir -p probe/a probe/b
timeout 10 ip netns exec $R unshare --pid --fork sh -c "mount --bind '$OUT/probe/a' '$OUT/probe/b'" 2>probe.log ||
  skip "may not make a pid namespace with a bind mount in it: $(tail -1 probe.log)"

# natt_hosts: the NAT-traversal server names the server derives from its address (x<c>.x<c>.dev.servers.nat-
# traversal.softether-network.net, <c> a hex digit: Mayaqua/Network.c RUDPGetRegisterHostNameByIP), all as NATT_IP,
# a second address of the client side where nothing listens: the server's NAT-T datagrams to UDP 5004 cross the
# veth, unanswered.
NATT_IP=10.231.0.200
natt_hosts() {
  local a b
  for a in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do
    for b in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do
      echo "$NATT_IP x$a.x$b.dev.servers.nat-traversal.softether-network.net x$a.x$b.dev.servers.nat-traversal.softether-network.net."
    done
  done
}
# SoftEther also keeps a cache of its string table in /tmp (.unicode_cache_<hash>.dat, the same name every run) and
# does not read TMPDIR: every SoftEther process here, vpncmd included, gets a /tmp of this run (SIDE/tmp).
# daemon SIDE NS PROGRAM: PROGRAM execsvc in NS with SIDE/{lib,log,run,tmp} as /var/lib, /var/log, /run and /tmp,
# and SIDE/hosts (this host's, plus DDNS_NAME, plus the NAT-T names for the server) as /etc/hosts;
# killing the recorded pid (unshare) kills the whole pid namespace (--kill-child), and timeout bounds it even
# without us.
daemon() {
  local side=$1 ns=$2 prog=$3 d
  for d in lib log run; do mkdir -p "$side/$d/softether"; done
  mkdir -p "$side/tmp"
  { cat /etc/hosts; echo "$RA $DDNS_NAME"; [ "$side" = srv ] && natt_hosts; } >"$side/hosts"
  # /tmp last: OUTDIR may be below it.
  bg "$prog" ip netns exec "$ns" unshare --pid --fork --kill-child timeout 150 sh -c "mount --bind '$OUT/$side/lib' /var/lib &&
    mount --bind '$OUT/$side/log' /var/log && mount --bind '$OUT/$side/run' /run &&
    mount --bind '$OUT/$side/hosts' /etc/hosts && mount --bind '$OUT/$side/tmp' /tmp && exec $prog execsvc"
}
# vpncmd_in NS LOG TARGET… /CMD COMMAND…: one vpncmd command (bounded), its output appended to LOG; true when it
# reports success. File names are relative (to OUTDIR): vpncmd reads an argument starting with / as a /PARAMETER.
vpncmd_in() {
  local ns=$1 log=$2; shift 2
  vpncmd_ns "$ns" 20 "$@" </dev/null >>"$log" 2>&1 && tail -3 "$log" | grep -q "completed successfully"
}
# vpncmd_ns NS SECONDS ARG…: vpncmd in NS with this run's /tmp, bounded.
vpncmd_ns() {
  local ns=$1 t=$2; shift 2
  mkdir -p "$OUT/vpncmd-tmp"
  timeout "$t" ip netns exec "$ns" sh -c "mount --bind '$OUT/vpncmd-tmp' /tmp && exec vpncmd \"\$@\"" vpncmd "$@"
}
srv() { vpncmd_in $R server-admin.log localhost:5555 /SERVER /CMD "$@"; }
cli() { vpncmd_in $I client-admin.log localhost /CLIENT /CMD "$@"; }
# admin_up FN COMMAND WHAT LOG: retry `FN COMMAND` until it succeeds (the daemon's admin port answers), ≤ 20 s.
admin_up() {
  local end=$((SECONDS + 20))
  until "$1" "$2"; do [ $SECONDS -lt $end ] || fail "$3 did not come up ($4)"; sleep 0.3; done
}

ip -n $I addr add $NATT_IP/24 dev tsv$$i || fail "cannot add $NATT_IP in $I"
capture softether-natt.pcap $RV "ip and host $NATT_IP and udp port 5004" $R
NATT_CAP=$CAP_PID
daemon srv $R vpnserver
admin_up srv ServerStatusGet vpnserver server-admin.log
# The hub's settings in one vpncmd run (Hub selects it for the commands after it); each must report success.
printf '%s\n' "HubCreate $HUB /PASSWORD:hub-$PASS" "Hub $HUB" "UserCreate $USER /GROUP:none /REALNAME:none /NOTE:none" \
  "UserPasswordSet $USER /PASSWORD:$PASS" SecureNatEnable "ProtoOptionsSet OpenVPN /NAME:Enabled /VALUE:true" \
  "IPsecEnable /L2TP:no /L2TPRAW:yes /ETHERIP:no /PSK:tsrec /DEFAULTHUB:$HUB" >server-setup.txt
vpncmd_ns $R 30 localhost:5555 /SERVER /IN:server-setup.txt </dev/null >server-setup.log 2>&1
[ "$(grep -c "completed successfully" server-setup.log)" = "$(wc -l <server-setup.txt)" ] ||
  fail "the server's setup did not complete (server-setup.log)"
srv ServerCertGet server.crt || fail "ServerCertGet (server-admin.log)"
[ -s server.crt ] || fail "ServerCertGet wrote no server.crt"
printf '%s\n' "$USER@$HUB" "$PASS" >openvpn-auth.txt
chmod 600 openvpn-auth.txt

# client_address: a fresh client address for the next variant (10.231.0.10 upward), used as the source of every
# packet towards the server. The server keeps talking to a session's old address for a while after its client has
# gone (OpenVPN data until its ping-restart, UDP acceleration); with one address per variant none of that lands
# in the next variant's capture. Sets CA.
nca=10
client_address() {
  CA=10.231.0.$nca; nca=$((nca + 1))
  ip -n $I addr add $CA/24 dev tsv$$i && ip -n $I route replace $RA/32 dev tsv$$i src $CA || fail "cannot use $CA in $I"
}

# openvpn NAME PROTO PORT SECONDS CIPHER [AUTH]
openvpn_variant() {
  local name=$1 proto=$2 port=$3 after=$4 cipher=$5 auth=${6:-} p=udp more=()
  [ "$proto" = tcp ] && p=tcp-client
  [ -n "$auth" ] && more=(--auth "$auth")
  client_address
  capture "softether-$name.pcap" $RV "ip and host $CA and $proto port $port" $R
  # --pull-filter: keep our one-second pings (the server pushes ping 3), so the data channel carries a few packets.
  bg "softether-$name-client" timeout 30 ip netns exec $I openvpn --client --dev null --ifconfig-noexec --route-noexec \
    --proto $p --remote $RA $port --nobind --ca server.crt --auth-user-pass openvpn-auth.txt --cipher "$cipher" \
    --data-ciphers "$cipher" "${more[@]}" --pull-filter ignore ping --ping 1 --verb 3
  wait_for "softether-$name-client.log" "Initialization Sequence Completed" 20 ||
    fail "$name: the openvpn client did not complete (softether-$name-client.log)"
  sleep "$after"
  stop_capture
  stop_peers 1
}

# native NAME HOST PORT DETAIL-OPTIONS…: one vpnclient session (account NAME) to HOST, until established and 3 s more.
native_variant() {
  local name=$1 host=$2 port=$3 i; shift 3
  cli AccountCreate "$name" /SERVER:$host:$port /HUB:$HUB /USERNAME:$USER /NICNAME:ts || fail "$name: AccountCreate (client-admin.log)"
  cli AccountPasswordSet "$name" /PASSWORD:$PASS /TYPE:standard || fail "$name: AccountPasswordSet (client-admin.log)"
  [ $# -gt 0 ] && { cli AccountDetailSet "$name" "$@" || fail "$name: AccountDetailSet (client-admin.log)"; }
  client_address
  capture "softether-$name.pcap" $RV "ip and host $CA" $R
  cli AccountConnect "$name" || fail "$name: AccountConnect (client-admin.log)"
  for i in $(seq 30); do
    vpncmd_ns $I 20 localhost /CLIENT /CMD AccountStatusGet "$name" </dev/null >"softether-$name-status.log" 2>&1
    grep -q "Session Established" "softether-$name-status.log" && break
    sleep 0.5
  done
  grep -q "Session Established" "softether-$name-status.log" || fail "$name: no session (softether-$name-status.log)"
  sleep 3 # the second TCP connection, UDP acceleration keep-alives
  vpncmd_ns $I 20 localhost /CLIENT /CMD AccountStatusGet "$name" </dev/null >"softether-$name-status.log" 2>&1
  cli AccountDisconnect "$name" || fail "$name: AccountDisconnect (client-admin.log)"
  stop_capture
}

l2tp_variant() {
  mkdir -p l2tp
  client_address
  printf '%s\n' "[global]" "listen-addr = $CA" "port = 1701" "access control = no" "[lac softether]" "lns = $RA" \
    "autodial = yes" "redial = no" "require authentication = no" "pppoptfile = $OUT/l2tp/options" "length bit = yes" \
    >l2tp/xl2tpd.conf
  touch l2tp/options
  echo '* * unused' >l2tp/secrets
  capture softether-l2tp.pcap $RV "ip and host $CA and udp port 1701" $R
  bg softether-l2tp-lac timeout 30 ip netns exec $I sh -c "mount --bind '$STANDIN' /usr/sbin/pppd &&
    exec xl2tpd -D -c '$OUT/l2tp/xl2tpd.conf' -s '$OUT/l2tp/secrets' -p '$OUT/l2tp/pid' -C '$OUT/l2tp/control'"
  wait_for softether-l2tp-lac.log "Call established" 10 || fail "l2tp: no call was established (softether-l2tp-lac.log)"
  sleep 2.7 # the stand-in's eight LCP frames and SoftEther's answers
  stop_capture
  stop_peers 1
}

openvpn_variant openvpn-udp udp 1194 2.5 AES-128-CBC SHA1
openvpn_variant openvpn-udp-gcm udp 1194 7 AES-256-GCM # ≥ 4 data packets each way to cut
openvpn_variant openvpn-tcp tcp 443 2.5 AES-256-GCM

daemon cli $I vpnclient
admin_up cli VersionGet vpnclient client-admin.log
cli NicCreate ts || fail "NicCreate (client-admin.log)"
native_variant native-443 $RA 443
native_variant native-ddns-name $DDNS_NAME 443
native_variant native-5555-noudp $RA 5555 /MAXTCP:1 /INTERVAL:1 /TTL:0 /HALF:no /BRIDGE:no /MONITOR:no /NOTRACK:no \
  /NOQOS:no /DISABLEUDP:yes

l2tp_variant
CAP_PID=$NATT_CAP stop_capture
exit 0
