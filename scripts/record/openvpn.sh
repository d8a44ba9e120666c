#!/usr/bin/env bash
# OpenVPN 2.x (Debian's openvpn), client and server on 127.0.0.1 with `--dev null` (no tun device needed), TLS
# mode with a throwaway CA: over UDP and TCP, plain and with each control-channel wrapper (tls-auth, tls-crypt,
# tls-crypt-v2). Each variant runs until the client reports "Initialization Sequence Completed" and a few
# keepalive pings (data channel) have crossed. Two TCP variants go through a proxy, as OpenVPN's `--http-proxy`
# and `--socks-proxy` options do behind a corporate proxy: Debian's tinyproxy (HTTP CONNECT) and microsocks
# (SOCKS5); the capture holds the client-proxy and the proxy-server connections.
source "$(dirname "$0")/lib.sh"
need openvpn openssl tinyproxy microsocks
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
variant() { # NAME PROTO WRAPPER [SECONDS-AFTER-INIT [OPTION…]]
  local name=$1 proto=$2 wrap=$3 after=${4:-2.5} p; p=$(port $n); n=$((n + 1)) # not $((n++)) inside $(…): a subshell
  shift 3; [ $# -gt 0 ] && shift
  local more=("$@") host=127.0.0.1
  [[ $proto == *6 ]] && host=::1
  local sw=() cw=() sp=$proto cp=$proto
  case $wrap in
    tls-auth) sw=(--tls-auth ta.key 0); cw=(--tls-auth ta.key 1) ;;
    tls-crypt) sw=(--tls-crypt ta.key); cw=(--tls-crypt ta.key) ;;
    tls-crypt-v2) sw=(--tls-crypt-v2 v2s.key); cw=(--tls-crypt-v2 v2c.key) ;;
  esac
  [ "$proto" = tcp ] && sp=tcp-server && cp=tcp-client
  capture "openvpn-$name.pcap" lo "host $host and port $p"
  bg "openvpn-$name-server" timeout 30 openvpn "${common[@]}" --proto $sp --local $host --lport $p \
    --cert server.crt --key server.key --dh none --tls-server "${sw[@]}" "${more[@]}"
  wait_for "openvpn-$name-server.log" "Initialization Sequence Completed\|UDPv. link local\|Listening for incoming TCP" 10 ||
    fail "$name: server did not start (openvpn-$name-server.log)"
  bg "openvpn-$name-client" timeout 30 openvpn "${common[@]}" --proto $cp --remote $host $p --nobind \
    --cert client.crt --key client.key --tls-client --remote-cert-tls server "${cw[@]}" "${more[@]}"
  wait_for "openvpn-$name-client.log" "Initialization Sequence Completed" 20 ||
    fail "$name: the client did not complete (openvpn-$name-client.log)"
  sleep "$after" # keepalive pings on the data channel (one a second each way)
  stop_capture
  stop_peers
}

# proxied NAME http|socks: OpenVPN over TCP through a proxy on 127.0.0.1.
proxied() {
  local name=$1 kind=$2 p q; p=$(port $n); q=$(port $((n + 1))); n=$((n + 2))
  capture "openvpn-$name.pcap" lo "host 127.0.0.1 and (port $p or port $q)"
  if [ "$kind" = http ]; then
    printf '%s\n' "Port $q" "Listen 127.0.0.1" "Allow 127.0.0.1" "ConnectPort $p" "Timeout 30" "LogLevel Info" >"tinyproxy-$name.conf"
    bg "tinyproxy-$name" timeout 30 tinyproxy -d -c "tinyproxy-$name.conf"
    wait_for "tinyproxy-$name.log" "listening on\|Listening on\|Starting main loop\|Accepting connections" 10 || fail "$name: tinyproxy did not start (tinyproxy-$name.log)"
  else
    bg "microsocks-$name" timeout 30 microsocks -i 127.0.0.1 -p "$q"
    sleep 0.3 # microsocks prints nothing when it is ready
  fi
  bg "openvpn-$name-server" timeout 30 openvpn "${common[@]}" --proto tcp-server --local 127.0.0.1 --lport $p \
    --cert server.crt --key server.key --dh none --tls-server
  wait_for "openvpn-$name-server.log" "Listening for incoming TCP" 10 || fail "$name: server did not start (openvpn-$name-server.log)"
  bg "openvpn-$name-client" timeout 30 openvpn "${common[@]}" --proto tcp-client --remote 127.0.0.1 $p --nobind \
    --"$kind"-proxy 127.0.0.1 $q --cert client.crt --key client.key --tls-client --remote-cert-tls server
  wait_for "openvpn-$name-client.log" "Initialization Sequence Completed" 20 || fail "$name: the client did not complete (openvpn-$name-client.log)"
  sleep 2.5
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
variant udp-tls-auth-sha512 udp tls-auth 2.5 --auth SHA512 # a 64-byte HMAC in every control packet
variant udp6 udp6 none                                     # on ::1
proxied tcp-http-proxy http
proxied tcp-socks-proxy socks
exit 0
