/**
 * Naive capture walker for reader tests: lists unit boundaries of a well-formed pcap or pcapng file with
 * DataView reads over the whole buffer, no streaming, no validation beyond what it needs to walk.
 */
export interface Unit {
  start: number;
  end: number;
  isPacket: boolean;
}

export function walkUnits(buf: Uint8Array): Unit[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const units: Unit[] = [];
  const magicBE = dv.getUint32(0, false);
  if (magicBE === 0x0a0d0d0a) {
    let le = true;
    for (let o = 0; o + 12 <= buf.length; ) {
      if (dv.getUint32(o, false) === 0x0a0d0d0a) le = dv.getUint32(o + 8, true) === 0x1a2b3c4d;
      const type = dv.getUint32(o, le);
      const len = dv.getUint32(o + 4, le);
      units.push({ start: o, end: o + len, isPacket: type === 6 || type === 3 || type === 2 });
      o += len;
    }
    return units;
  }
  const le = dv.getUint32(0, true) === 0xa1b2c3d4 || dv.getUint32(0, true) === 0xa1b23c4d;
  units.push({ start: 0, end: 24, isPacket: false });
  for (let o = 24; o + 16 <= buf.length; ) {
    const cap = dv.getUint32(o + 8, le);
    units.push({ start: o, end: o + 16 + cap, isPacket: true });
    o += 16 + cap;
  }
  return units;
}
