#!/usr/bin/env bash
# Nebula (Debian's nebula, Slack's overlay network): two nodes with certificates from a throwaway CA, each other's
# static host, in two network namespaces joined by a veth pair (scripts/record/netns-pair.sh), each with its tun
# device. TCP connection attempts across the overlay (each a SYN one way and a RST back) make the Noise IX handshake
# (stage 1 and 2) and then data both ways.
source "$(dirname "$0")/lib.sh"
need nebula nebula-cert tcpdump ip
need_tun
source "$REC_ROOT/scripts/record/netns-pair.sh"
cd "$OUT" || exit 1
nebula-cert ca -name ts-test-ca -out-crt ca.crt -out-key ca.key >nebula-cert.log 2>&1 || fail "nebula-cert ca: $(tail -1 nebula-cert.log)"
for n in 1 2; do
  nebula-cert sign -ca-crt ca.crt -ca-key ca.key -name "node$n" -ip "10.232.0.$n/24" -out-crt "node$n.crt" -out-key "node$n.key" \
    >>nebula-cert.log 2>&1 || fail "nebula-cert sign: $(tail -1 nebula-cert.log)"
done

p=$(port 0)
# node 1 in the client namespace ($I, $IA), node 2 in the server namespace ($R, $RA); both listen on port $p.
conf() { # NODE PEER PEER-UNDERLAY-ADDRESS
  cat >"nebula-$1.yml" <<CONF
pki: { ca: "$OUT/ca.crt", cert: "$OUT/node$1.crt", key: "$OUT/node$1.key" }
static_host_map: { "10.232.0.$2": ["$3:$p"] }
lighthouse: { am_lighthouse: false, hosts: [] }
listen: { host: 0.0.0.0, port: $p }
punchy: { punch: false }
tun: { disabled: false, dev: "tsn$$" }
logging: { level: info }
firewall:
  outbound: [ { port: any, proto: any, host: any } ]
  inbound: [ { port: any, proto: any, host: any } ]
CONF
}
conf 1 2 "$RA"
conf 2 1 "$IA"
capture "nebula-ipv4.pcap" "$RV" "udp and port $p" "$R"
bg nebula-2 ip netns exec "$R" timeout 30 nebula -config "$OUT/nebula-2.yml"
bg nebula-1 ip netns exec "$I" timeout 30 nebula -config "$OUT/nebula-1.yml"
for f in nebula-1.log nebula-2.log; do
  wait_for "$f" "Nebula interface is active" 10 || fail "a node did not start ($f)"
done
# Each attempt: a SYN into the overlay, a RST back from node 2's kernel — data packets both ways.
for i in $(seq 10); do
  ip netns exec "$I" timeout 1 bash -c "exec 3<>/dev/tcp/10.232.0.2/9" 2>/dev/null
  sleep 0.2
done
grep -q "Handshake message received" nebula-1.log || fail "no handshake (nebula-*.log)"
stop_capture
stop_peers
exit 0
