#!/usr/bin/env bash
# Microsoft SSTP: Debian's sstp-client (sstpc 1.0.18) against SoftEther VPN's server (Debian's softether-vpnserver
# 5.01.9674, its MS-SSTP function, on by default and switched on again with ProtoOptionsSet SSTP Enabled), the server
# in one network namespace and the client in another, joined by a veth pair (scripts/record/netns-pair.sh), recorded
# on the server's end. Variants:
#   tls            sstpc straight to the server's TCP 443: TLS, all a gateway sees of SSTP;
#   clear          the same client and server with a TLS terminator in between, recorded on its cleartext hop (a
#                  capture taken behind an SSL offloader): sstpc → socat openssl-listen on the client side's
#                  127.0.0.1:443 (a throwaway certificate) → plain TCP across the veth to $RA:PLAIN → socat in the
#                  server's namespace → TLS to the server's 127.0.0.1:443. Only the plain hop is captured;
#   clear-standin  the same cleartext hop, with scripts/record/sstp-server-standin.mjs listening at its end in place of
#                  SoftEther: the HTTP 200, CALL_CONNECT_ACK and echo request that a server sends (no PPP), so that
#                  the real client goes on to its CALL_CONNECT_REQUEST, its data packets and its echo response.
# SoftEther's SSTP never answers here: the request reaches it (its log shows the connection, TLS and nothing more),
# and this build's ProtoHandleConnection(proto, sock, "SSTP") returns false for every protocol name (in its machine
# code the loop over the protocol containers returns at the match instead of using it), so the call set-up stops at
# the client's SSTP_DUPLEX_POST; `tls` and `clear` hold what the two real programs do, which is that.
# The kernel may have no PPP (/dev/ppp, CONFIG_PPP): sstpc's pppd is scripts/record/pppd-standin (bind-mounted over
# /usr/sbin/pppd in sstpc's own mount namespace), whose LCP Configure-Requests sstpc carries as SSTP data packets;
# PPP never completes, so no CALL_CONNECTED follows. SoftEther's state goes to this run's directories as in
# scripts/record/softether.sh (a mount and pid namespace of its own).
source "$(dirname "$0")/lib.sh"
need tcpdump ip vpnserver vpncmd sstpc pppd socat openssl node
cd "$OUT" || exit 1
source "$REC_ROOT/scripts/record/netns-pair.sh"
STANDIN="$REC_ROOT/scripts/record/pppd-standin"
HUB=TS USER=tsuser PASS=ts-recording-pass
PLAIN=$(port 1) PLAIN2=$(port 2)
mkdir -p probe/a probe/b
timeout 10 ip netns exec $R unshare --pid --fork sh -c "mount --bind '$OUT/probe/a' '$OUT/probe/b'" 2>probe.log ||
  skip "may not make a pid namespace with a bind mount in it: $(tail -1 probe.log)"

# The server: vpnserver execsvc in $R with srv/{lib,log,run,tmp} as /var/lib, /var/log, /run and /tmp; killing the
# recorded pid (unshare) kills its pid namespace, and timeout bounds it.
for d in lib log run; do mkdir -p "srv/$d/softether"; done
mkdir -p srv/tmp vpncmd-tmp
bg vpnserver ip netns exec $R unshare --pid --fork --kill-child timeout 90 sh -c "mount --bind '$OUT/srv/lib' /var/lib &&
  mount --bind '$OUT/srv/log' /var/log && mount --bind '$OUT/srv/run' /run && mount --bind '$OUT/srv/tmp' /tmp &&
  exec vpnserver execsvc"
vpncmd_r() { timeout 30 ip netns exec $R sh -c "mount --bind '$OUT/vpncmd-tmp' /tmp && exec vpncmd \"\$@\"" vpncmd "$@" </dev/null; }
end=$((SECONDS + 20))
until vpncmd_r localhost:5555 /SERVER /CMD ServerStatusGet >>server-admin.log 2>&1 && tail -3 server-admin.log | grep -q "completed successfully"; do
  [ $SECONDS -lt $end ] || fail "vpnserver did not come up (server-admin.log, vpnserver.log)"
  sleep 0.3
done
# A hub with SecureNAT, one password user, the SSTP function (this 5.x build has no SstpEnable).
printf '%s\n' "HubCreate $HUB /PASSWORD:hub-$PASS" "Hub $HUB" "UserCreate $USER /GROUP:none /REALNAME:none /NOTE:none" \
  "UserPasswordSet $USER /PASSWORD:$PASS" SecureNatEnable "ProtoOptionsSet SSTP /NAME:Enabled /VALUE:true" \
  "ProtoOptionsGet SSTP" >server-setup.txt
vpncmd_r localhost:5555 /SERVER /IN:server-setup.txt >server-setup.log 2>&1
[ "$(grep -c "completed successfully" server-setup.log)" = "$(wc -l <server-setup.txt)" ] ||
  fail "the server's setup did not complete (server-setup.log)"

# A throwaway certificate for the terminator (sstpc --cert-warn accepts it, as it does SoftEther's own).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout term.key -out term.crt -days 2 \
  -subj /CN=sstp.test >/dev/null 2>openssl.log || fail "openssl req failed (openssl.log)"
cat term.key term.crt >term.pem

# sstp_client NAME HOST: sstpc in $I (pppd the stand-in, /var/run a tmpfs of its own) to HOST:443, bounded.
sstp_client() {
  bg "sstp-$1-client" timeout 30 ip netns exec $I sh -c "mount -t tmpfs tmpfs /var/run && mkdir -p /var/run/sstpc &&
    mount --bind '$STANDIN' /usr/sbin/pppd && exec sstpc --log-stderr --log-level 4 --cert-warn --tls-ext \
    --user '$USER@$HUB' --password '$PASS' '$2' noauth nodefaultroute nodetach"
}
# listening NS ADDR:PORT: true once something listens there (≤ 10 s).
listening() {
  local i; for i in $(seq 100); do ip netns exec "$1" ss -ltn 2>/dev/null | grep -q " $2 " && return 0; sleep 0.1; done
  return 1
}
# terminator PLAIN-PORT: the client side's TLS listener on 127.0.0.1:443, forwarding in clear to $RA:PLAIN-PORT.
terminator() {
  bg "socat-tls-$1" ip netns exec $I timeout 30 socat -d -d \
    "openssl-listen:443,bind=127.0.0.1,reuseaddr,fork,cert=$OUT/term.pem,verify=0" "tcp:$RA:$1"
  listening $I 127.0.0.1:443 || fail "the TLS terminator does not listen (socat-tls-$1.log)"
}

# tls: the server never answers the request; 4 s are enough for the handshake and the request.
capture sstp-tls.pcap $RV "ip and host $IA and tcp port 443" $R
sstp_client tls $RA
wait_for sstp-tls-client.log "Connected to" 10 || fail "tls: sstpc did not connect (sstp-tls-client.log)"
sleep 4
stop_capture
stop_peers 1

# clear: plain TCP $IA → $RA:PLAIN, then TLS again from the server's namespace to SoftEther.
capture sstp-clear.pcap $RV "ip and host $IA and tcp port $PLAIN" $R
bg socat-plain ip netns exec $R timeout 30 socat -d -d "tcp-listen:$PLAIN,bind=$RA,reuseaddr,fork" \
  "openssl:127.0.0.1:443,verify=0"
listening $R $RA:$PLAIN || fail "the server side's socat does not listen (socat-plain.log)"
terminator $PLAIN
sstp_client clear 127.0.0.1
wait_for socat-plain.log "starting data transfer loop" 10 || fail "clear: nothing reached SoftEther (socat-plain.log, sstp-clear-client.log)"
sleep 4
stop_capture
stop_peers 3

# clear-standin: the same hop, the stand-in server at its end.
capture sstp-clear-standin.pcap $RV "ip and host $IA and tcp port $PLAIN2" $R
bg sstp-server-standin ip netns exec $R timeout 30 node "$REC_ROOT/scripts/record/sstp-server-standin.mjs" $RA $PLAIN2
listening $R $RA:$PLAIN2 || fail "the SSTP server stand-in does not listen (sstp-server-standin.log)"
terminator $PLAIN2
sstp_client clear-standin 127.0.0.1
wait_for sstp-server-standin.log "data packet" 10 || fail "clear-standin: no SSTP data packet reached the stand-in (sstp-server-standin.log, sstp-clear-standin-client.log)"
sleep 3 # the pppd stand-in's LCP requests (2.4 s), the echo exchange
stop_capture
stop_peers 3
exit 0
