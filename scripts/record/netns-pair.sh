# Sourced after lib.sh by the recorders whose client and server both want the same port (IKE, L2TP, PPTP): two
# network namespaces, server side $R and client side $I, joined by a veth pair; $RA and $IA are their addresses,
# $RV the server's veth end, where the capture runs (`capture FILE $RV FILTER $R`). Both namespaces (and so the
# veth) go at exit.
R=tsrec-srv-$$ I=tsrec-cli-$$ RV=tsv$$r RA=10.231.0.1 IA=10.231.0.2
netns $R
netns $I
ip link add $RV type veth peer name tsv$$i 2>"$OUT/veth.log" || skip "may not create a veth pair: $(cat "$OUT/veth.log")"
ip link set $RV netns $R && ip link set tsv$$i netns $I || fail "cannot move the veth ends into the namespaces"
ip -n $R addr add $RA/24 dev $RV && ip -n $R link set $RV up || fail "cannot address $RV in $R"
ip -n $I addr add $IA/24 dev tsv$$i && ip -n $I link set tsv$$i up || fail "cannot address tsv$$i in $I"
# A veth carries nothing until the kernel has seen both ends up (its link watch runs asynchronously, later on a
# loaded host): a daemon started before that sends its first packets into a link without carrier.
for _ in $(seq 100); do
  ip -n $R link show $RV 2>/dev/null | grep -q 'state UP' && ip -n $I link show tsv$$i 2>/dev/null | grep -q 'state UP' && break
  sleep 0.1
done
ip -n $R link show $RV | grep -q 'state UP' || fail "the veth pair has no carrier after 10 s"
