#!/usr/bin/env bash
# PPTP: Debian's pptpd (server) and pptp-linux (client) each in a network namespace of their own, joined by a veth
# pair, recorded on the server's end: the TCP 1723 control connection (Start-Control-Connection, Outgoing-Call
# request/reply) and the enhanced GRE (version 1) data channel of the call. pppd on both sides is replaced by
# scripts/record/pppd-standin (LCP Configure-Requests), since the kernel may have no PPP: pptpd runs it through its
# `-e` option, pptp through a bind mount over /usr/sbin/pppd in its own mount namespace. Variants:
#   call       control connection + GRE both ways;
#   gre-only   the GRE packets of `call` alone (a capture that joins after the control exchange).
source "$(dirname "$0")/lib.sh"
need tcpdump ip pptpd pptp pppd
cd "$OUT" || exit 1
source "$REC_ROOT/scripts/record/netns-pair.sh"
STANDIN="$REC_ROOT/scripts/record/pppd-standin"

# gre_count: GRE packets recorded so far (tcpdump -U writes each as it comes).
gre_count() { tcpdump -r pptp-call.pcap 'proto gre' 2>/dev/null | wc -l; }

printf 'localip 10.234.0.1\nremoteip 10.234.0.2-9\n' >pptpd.conf
touch options
capture pptp-call.pcap $RV "ip and host $IA" $R
bg pptpd timeout 40 ip netns exec $R pptpd -f -c "$OUT/pptpd.conf" -o "$OUT/options" -p "$OUT/pptpd.pid" -e "$STANDIN" -l $RA
for i in $(seq 50); do ip netns exec $R ss -ltn 2>/dev/null | grep -q "$RA:1723" && break; sleep 0.1; done
ip netns exec $R ss -ltn | grep -q "$RA:1723" || fail "pptpd does not listen on $RA:1723 (pptpd.log)"
# pptp hands the call to a call manager process found through a UNIX socket named after the server's address
# (/var/run/pptp/10.231.0.1): one left by an earlier run, alive in its deleted namespace, took every later call and
# nothing reached this veth. The client gets a /var/run/pptp of its own (its `ip netns exec` mount namespace).
mkdir -p /var/run/pptp
bg pptp timeout 40 ip netns exec $I sh -c "mount -t tmpfs tmpfs /var/run/pptp && mount --bind '$STANDIN' /usr/sbin/pppd && exec pptp $RA --debug --nohostroute"
# 20 s: the stand-in pppd's LCP requests are a few per second, and a loaded host slows both ends.
for i in $(seq 200); do [ "$(gre_count)" -ge 12 ] && break; sleep 0.1; done
[ "$(gre_count)" -ge 12 ] || fail "fewer than 12 GRE packets in 20 s (pptpd.log, pptp.log; pptpd and pptp log to syslog)"
sleep 1
stop_capture
tcpdump -r pptp-call.pcap -w pptp-gre-only.pcap 'proto gre' 2>/dev/null || fail "tcpdump could not filter pptp-call.pcap"
exit 0
