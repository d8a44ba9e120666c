#!/usr/bin/env bash
# OpenVPN 2.x (Debian's openvpn), client and server on 127.0.0.1 with `--dev null` (no tun device needed), TLS
# mode with a throwaway CA: over UDP and TCP, plain and with each control-channel wrapper (tls-auth, tls-crypt,
# tls-crypt-v2). Each variant runs until the client reports "Initialization Sequence Completed" and a few
# keepalive pings (data channel) have crossed.
source "$(dirname "$0")/lib.sh"
need openvpn openssl
cd "$OUT" || exit 1

# Throwaway CA, server and client certificates (EC P-256: quick to make).
ossl() { openssl "$@" >/dev/null 2>>openssl.log || fail "openssl $1 failed: $(tail -1 openssl.log)"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=ts-test-ca
for n in server client; do
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $n.key -out $n.csr -subj /CN=$n
  printf 'extendedKeyUsage=%s\nkeyUsage=digitalSignature\n' "$([ $n = server ] && echo serverAuth || echo clientAuth)" >$n.ext
  ossl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $n.crt -days 2 -extfile $n.ext
done
openvpn --genkey secret ta.key >/dev/null 2>&1 || fail "openvpn --genkey secret"
openvpn --genkey tls-crypt-v2-server v2s.key >/dev/null 2>&1 || fail "openvpn --genkey tls-crypt-v2-server"
openvpn --genkey tls-crypt-v2-client v2c.key --tls-crypt-v2 v2s.key >/dev/null 2>&1 || fail "openvpn --genkey tls-crypt-v2-client"

common=(--dev null --ifconfig-noexec --ping 1 --verb 3 --ca ca.crt --cipher AES-256-GCM --data-ciphers AES-256-GCM)
n=0
variant() { # NAME PROTO WRAPPER [SECONDS-AFTER-INIT]
  local name=$1 proto=$2 wrap=$3 after=${4:-2.5} p; p=$(port $n); n=$((n + 1)) # not $((n++)) inside $(…): a subshell
  local sw=() cw=() sp=$proto cp=$proto
  case $wrap in
    tls-auth) sw=(--tls-auth ta.key 0); cw=(--tls-auth ta.key 1) ;;
    tls-crypt) sw=(--tls-crypt ta.key); cw=(--tls-crypt ta.key) ;;
    tls-crypt-v2) sw=(--tls-crypt-v2 v2s.key); cw=(--tls-crypt-v2 v2c.key) ;;
  esac
  [ "$proto" = tcp ] && sp=tcp-server && cp=tcp-client
  capture "openvpn-$name.pcap" lo "host 127.0.0.1 and port $p"
  bg "openvpn-$name-server" timeout 30 openvpn "${common[@]}" --proto $sp --local 127.0.0.1 --lport $p \
    --cert server.crt --key server.key --dh none --tls-server "${sw[@]}"
  wait_for "openvpn-$name-server.log" "Initialization Sequence Completed\|UDPv4 link local\|Listening for incoming TCP" 10 ||
    fail "$name: server did not start (openvpn-$name-server.log)"
  bg "openvpn-$name-client" timeout 30 openvpn "${common[@]}" --proto $cp --remote 127.0.0.1 $p --nobind \
    --cert client.crt --key client.key --tls-client --remote-cert-tls server "${cw[@]}"
  wait_for "openvpn-$name-client.log" "Initialization Sequence Completed" 20 ||
    fail "$name: the client did not complete (openvpn-$name-client.log)"
  sleep "$after" # keepalive pings on the data channel (one a second each way)
  stop_capture
  stop_peers
}

# Plain UDP runs longer: its data channel alone (the capture cut after the handshake) must show 8 pings each way.
variant udp udp none 10
variant tcp tcp none
variant udp-tls-auth udp tls-auth
variant udp-tls-crypt udp tls-crypt
variant tcp-tls-crypt tcp tls-crypt
variant udp-tls-crypt-v2 udp tls-crypt-v2
exit 0
