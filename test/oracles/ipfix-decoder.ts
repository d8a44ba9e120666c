/**
 * A naive IPFIX (RFC 7011) message decoder for tests: header, sets, template records, data records decoded by
 * the templates seen so far (variable-length fields included). Written straight from the RFC's layout, sharing
 * nothing with src/ipfix/.
 */
export interface Field { id: number; length: number; pen: number }
export interface Message {
  version: number;
  length: number;
  exportTime: number;
  sequence: number;
  domain: number;
  templates: { id: number; fields: Field[] }[];
  /** Data records: template id and each field's raw bytes in template order. */
  records: { tid: number; values: Uint8Array[] }[];
}

export class IpfixDecoder {
  readonly templates = new Map<number, Field[]>();

  decode(b: Uint8Array): Message {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const m: Message = {
      version: dv.getUint16(0), length: dv.getUint16(2), exportTime: dv.getUint32(4), sequence: dv.getUint32(8), domain: dv.getUint32(12),
      templates: [], records: [],
    };
    if (m.length !== b.length) throw new Error(`message length ${m.length} != datagram ${b.length}`);
    let o = 16;
    while (o < b.length) {
      const setId = dv.getUint16(o), setLen = dv.getUint16(o + 2);
      if (setLen < 4 || o + setLen > b.length) throw new Error(`bad set length ${setLen} at ${o}`);
      const end = o + setLen;
      let p = o + 4;
      if (setId === 2) {
        while (end - p >= 4) {
          const id = dv.getUint16(p), count = dv.getUint16(p + 2);
          p += 4;
          const fields: Field[] = [];
          for (let i = 0; i < count; i++) {
            const t = dv.getUint16(p), len = dv.getUint16(p + 2);
            p += 4;
            let pen = 0;
            if (t & 0x8000) { pen = dv.getUint32(p); p += 4; }
            fields.push({ id: t & 0x7fff, length: len, pen });
          }
          this.templates.set(id, fields);
          m.templates.push({ id, fields });
        }
      } else if (setId >= 256) {
        const fields = this.templates.get(setId);
        if (!fields) throw new Error(`data set for unknown template ${setId}`);
        while (p < end) {
          const values: Uint8Array[] = [];
          for (const f of fields) {
            let len = f.length;
            if (len === 0xffff) {
              len = b[p++]!;
              if (len === 255) { len = dv.getUint16(p); p += 2; }
            }
            if (p + len > end) throw new Error('record runs past its set');
            values.push(b.subarray(p, p + len));
            p += len;
          }
          m.records.push({ tid: setId, values });
        }
      } else throw new Error(`unexpected set id ${setId}`);
      o = end;
    }
    return m;
  }
}

/** Unsigned big-endian integer of a field (≤ 8 bytes; exact below 2^53). */
export function uint(v: Uint8Array): number {
  let n = 0;
  for (const x of v) n = n * 256 + x;
  return n;
}
