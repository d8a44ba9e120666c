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
