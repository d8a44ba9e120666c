#!/usr/bin/env bash
# Install the real tools of the field that some tests drive (tcpdump, tshark/mergecap, nfdump/nfcapd,
# nats-server, chromium, ndpiReader, bro-cut, jq,
# groff, nft) from Debian's packages when they are missing. Used by .ci/run and by test
# helpers; never needed by the library, `npm start` or `npm test`'s pure-TypeScript tests.
#
#   bash scripts/ensure-tools.sh tcpdump tshark nfdump nats-server chromium ndpiReader
#
# Prints one line per tool. Exit 0 when every tool asked for is on PATH afterwards, 1 otherwise (tests then
# skip with a clear message). Concurrent callers are serialised with a lock, since dpkg allows one at a time.
set -uo pipefail

pkg_of() {
  case "$1" in
    tcpdump) echo tcpdump ;;
    tshark | mergecap | editcap) echo tshark ;;
    nfdump | nfcapd) echo nfdump ;;
    nats-server) echo nats-server ;;
    chromium) echo chromium ;;
    ndpiReader) echo libndpi-bin ;;
    bro-cut) echo bro-aux ;; # zeek-cut under its old name: reads Zeek TSV logs by their #fields header
    jq) echo jq ;;
    groff) echo groff-base ;;
    nft) echo nftables ;; # a netfilter rule that logs test packets to an NFLOG group
    openvpn) echo openvpn ;; # scripts/record: real VPN implementations recorded on this host
    tinyproxy) echo tinyproxy ;; # an HTTP CONNECT proxy and a SOCKS5 proxy for OpenVPN's --http-proxy/--socks-proxy
    microsocks) echo microsocks ;;
    openssl) echo openssl ;;
    wg) echo wireguard-tools ;;
    wireguard-go) echo wireguard-go ;;
    tincd) echo tinc ;;
    xl2tpd) echo xl2tpd ;;
    pppd) echo ppp ;;
    pptpd) echo pptpd ;;
    pptp) echo pptp-linux ;;
    swanctl) echo strongswan-swanctl ;;
    /usr/lib/ipsec/charon) echo strongswan-charon ;; # not on PATH: asked for by its path
    /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so) echo libcharon-extra-plugins ;; # userspace ESP
    ip) echo iproute2 ;; # ip netns: recorders keep their peers in namespaces of their own
    nebula | nebula-cert) echo nebula ;;
    ocserv) echo ocserv ;;
    openconnect) echo openconnect ;;
    vpnserver) echo softether-vpnserver ;; # SoftEther VPN: server, client and their command-line admin tool
    vpnclient) echo softether-vpnclient ;;
    vpncmd) echo softether-vpncmd ;;
    sstpc) echo sstp-client ;; # Microsoft SSTP client (against SoftEther's SSTP server function)
    socat) echo socat ;; # a TLS terminator in front of a server, so that a recorder can capture the cleartext hop
    *) echo "" ;;
  esac
}

missing=()
# A tool is a command on PATH, or the absolute path of a file a package ships (a daemon outside PATH, a plugin).
have() { command -v "$1" >/dev/null 2>&1 || { [ "${1#/}" != "$1" ] && [ -e "$1" ]; }; }

for t in "$@"; do
  if have "$t"; then continue; fi
  p="$(pkg_of "$t")"
  if [ -z "$p" ]; then echo "ensure-tools: unknown tool $t" >&2; continue; fi
  missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != "0" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "ensure-tools: not root and no sudo; cannot install ${missing[*]}" >&2
  else
    SUDO=""; [ "$(id -u)" != "0" ] && SUDO="sudo -n"
    lock="${TMPDIR:-/tmp}/tunnelscope-ensure-tools.lock"
    (
      flock -w 900 9 || { echo "ensure-tools: timed out waiting for the install lock" >&2; exit 1; }
      # Re-check under the lock: another caller may have installed them meanwhile.
      todo=()
      for p in "${missing[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || todo+=("$p"); done
      if [ "${#todo[@]}" -gt 0 ]; then
        echo "ensure-tools: installing ${todo[*]} from Debian's packages" >&2
        export DEBIAN_FRONTEND=noninteractive
        # Refresh the index only when a plain install cannot find the package.
        $SUDO apt-get install -y -q --no-install-recommends "${todo[@]}" >/dev/null 2>&1 ||
          { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q --no-install-recommends "${todo[@]}" >/dev/null 2>&1; } ||
          echo "ensure-tools: apt-get install ${todo[*]} failed" >&2
      fi
    ) 9>"$lock"
  fi
fi

rc=0
for t in "$@"; do
  if have "$t"; then echo "$t: $(command -v "$t" || echo "$t")"; else echo "$t: missing"; rc=1; fi
done
exit $rc
