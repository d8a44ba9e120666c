#!/usr/bin/env bash
# Cisco AnyConnect protocol: Debian's ocserv (server, in a network namespace of its own: it makes a tun device per
# session) and openconnect (client, in this namespace, `--script-tun`: its tunnel is a socket to a script, no tun
# device), joined by a veth pair; throwaway CA, a plain password file, the client trusts the CA (`--cafile`).
# Variants: the default (CSTP over TLS, then the DTLS 1.2 data channel that ocserv and openconnect ≥ 7.08 negotiate
# with PSK-NEGOTIATE), `--no-dtls` (CSTP over TLS only) and the legacy DTLS of Cisco's servers (ocserv with
# dtls-psk off: pre-standard DTLS 01 00 resuming the session the CSTP connection handed over), and the default with
# the server's DTLS port dropped by a firewall (the client's DTLS ClientHellos go unanswered; it falls back to CSTP).
# Each variant runs until the client reports its data channel up and a few DPD/keepalive frames have crossed.
source "$(dirname "$0")/lib.sh"
need ocserv openconnect openssl nft
need_tun
cd "$OUT" || exit 1

ossl() { openssl "$@" >/dev/null 2>>openssl.log || fail "openssl $1 failed: $(tail -1 openssl.log)"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=ts-test-ca
ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=vpn.test
printf 'extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\nsubjectAltName=DNS:vpn.test\n' >server.ext
ossl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext
echo "tsuser:*:$(openssl passwd -5 ts-pass)" >ocpasswd
chmod 644 ocpasswd server.crt ca.crt; chmod 600 server.key

# Server namespace and a veth pair (198.18.0.0/15, RFC 2544 benchmarking range; the /30 from this pid).
ns=tsoc$$ vc=tsoc$$c vs=tsoc$$s
o3=$(( $$ / 64 % 256 )) o4=$(( $$ % 64 * 4 ))
cip=198.18.$o3.$(( o4 + 1 )) sip=198.18.$o3.$(( o4 + 2 ))
netns "$ns"
ip link add "$vc" type veth peer name "$vs" 2>netns.log || fail "veth: $(cat netns.log)"
REC_CLEANUP+=("ip link del $vc")
ip link set "$vs" netns "$ns" && ip addr add "$cip/30" dev "$vc" && ip link set "$vc" up &&
  ip -n "$ns" addr add "$sip/30" dev "$vs" && ip -n "$ns" link set "$vs" up || fail "veth addresses"

n=0
variant() { # NAME DTLS(psk|legacy|none|blocked) CLIENT-OPTION…
  local name=$1 dtls=$2 p; p=$(port $n); n=$((n + 1)); shift 2
  local conf="ocserv-$name.conf" copts=("$@")
  # Workers stay root: dropped to nobody they could not reach the sec-mod socket in a 0700 OUTDIR (mkdtemp's).
  cat >"$conf" <<EOF
auth = "plain[passwd=$OUT/ocpasswd]"
listen-host = $sip
tcp-port = $p
udp-port = $([ "$dtls" = none ] && echo 0 || echo "$p")
socket-file = $OUT/ocserv-$name.sock
pid-file = $OUT/ocserv-$name.pid
server-cert = $OUT/server.crt
server-key = $OUT/server.key
run-as-user = root
run-as-group = root
isolate-workers = false
use-occtl = false
max-clients = 4
keepalive = 2
dpd = 5
try-mtu-discovery = false
device = tsoc$$
ipv4-network = 192.168.$(( n + 100 )).0/24
dtls-psk = $([ "$dtls" = legacy ] && echo false || echo true)
dtls-legacy = true
log-level = 2
EOF
  [ "$dtls" = none ] && sed -i '/^udp-port/d' "$conf" && copts+=(--no-dtls)
  if [ "$dtls" = blocked ]; then # a firewall in front of the server drops its DTLS port: the client falls back to CSTP
    ip netns exec "$ns" nft add table inet tsoc$$ && ip netns exec "$ns" nft add chain inet tsoc$$ input \
      '{ type filter hook input priority 0; }' && ip netns exec "$ns" nft add rule inet tsoc$$ input udp dport "$p" drop ||
      fail "$name: nft could not drop UDP $p in the server's namespace"
  fi
  capture "ocserv-$name.pcap" "$vc" "host $sip and port $p"
  bg "ocserv-$name-server" timeout 30 ip netns exec "$ns" ocserv -f -c "$OUT/$conf"
  wait_for "ocserv-$name-server.log" "listening (TCP) on" 10 || fail "$name: server did not start (ocserv-$name-server.log)"
  bg "ocserv-$name-client" timeout 30 sh -c "echo ts-pass | exec openconnect --non-inter --passwd-on-stdin -u tsuser \
    --cafile '$OUT/ca.crt' --resolve vpn.test:$sip ${copts[*]} --script-tun --script 'sleep 60' -v https://vpn.test:$p/"
  local up="DTLS connected\|Established DTLS"
  [ "$dtls" = none ] && up="Configured as"
  [ "$dtls" = blocked ] && up="DTLS initialised" # then the ClientHello and its retransmissions; no need to wait them out
  wait_for "ocserv-$name-client.log" "$up" 20 || fail "$name: the client did not connect (ocserv-$name-client.log)"
  sleep 2.5 # DPD and keepalive frames on the data channel
  stop_capture
  stop_peers
}

variant default psk
variant no-dtls none
variant dtls12-resume legacy
variant dtls-legacy legacy --dtls-ciphers=AES128-SHA --dtls12-ciphers=
variant dtls-blocked blocked
exit 0
