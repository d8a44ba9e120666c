/**
 * `classify --ipfix udp://HOST:PORT`: every flow record also goes to an IPFIX collector (RFC 7011 over UDP; see
 * src/ipfix/). The exporter's code is loaded only when the option is given.
 */
import { Option } from 'commander';
import type { FlowRecord } from '../classify/record.js';
import { TunnelscopeError } from '../errors.js';
import { UsageError } from './args.js';
import type { RecordSink, SinkPlugin } from './sinks.js';

export const ipfixSinkPlugin: SinkPlugin = {
  options: () => [new Option('--ipfix <udp://HOST:PORT>', 'also export every flow as an IPFIX record to this collector (port default 4739)')],
  async create(opts) {
    const url = opts['ipfix'];
    if (typeof url !== 'string') return null;
    const { createIpfixExporter } = await import('../ipfix/udp.js');
    let exporter: ReturnType<typeof createIpfixExporter>;
    try {
      exporter = createIpfixExporter(url);
    } catch (e) {
      if (e instanceof TunnelscopeError) throw new UsageError(e.message.replace(/^--ipfix: /, '--ipfix: '));
      throw e;
    }
    const sink: RecordSink = {
      record: (r: FlowRecord) => exporter.write(r),
      close: () => exporter.close(),
      report: () => {
        const s = exporter.stats;
        return `IPFIX: ${s.records} records in ${s.messages} messages to ${exporter.host}:${exporter.port}${s.sendErrors ? `, ${s.sendErrors} send errors (${s.lastError})` : ''}${s.dropped ? `, ${s.dropped} messages dropped` : ''}`;
      },
    };
    return sink;
  },
};
