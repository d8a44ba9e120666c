/**
 * Why a packet could not be decoded. The decoder's internal functions return these small integers (0 = ok)
 * so the packet path never builds strings; `Decoder.stats` maps them to the stable names below.
 */
export const OK = 0;
export const R_UNKNOWN_LINKTYPE = 1;
export const R_TRUNCATED_LINK = 2;
export const R_NON_IP = 3;
export const R_IP_BAD_VERSION = 4;
export const R_IPV4_TRUNCATED = 5;
export const R_IPV4_BAD_IHL = 6;
export const R_IPV4_BAD_TOTAL_LENGTH = 7;
export const R_IPV6_TRUNCATED = 8;
export const R_IPV6_BAD_EXT_HEADER = 9;
export const R_TRUNCATED_L4 = 10;
export const R_TCP_BAD_DATA_OFFSET = 11;

/** Stable names, indexed by the codes above (the keys of `DecodeStats.malformed`). */
export const DECODE_REASONS: readonly string[] = [
  'ok',
  'unknown-linktype',
  'truncated-link',
  'non-ip',
  'ip-bad-version',
  'ipv4-truncated',
  'ipv4-bad-ihl',
  'ipv4-bad-total-length',
  'ipv6-truncated',
  'ipv6-bad-ext-header',
  'truncated-l4',
  'tcp-bad-data-offset',
];
