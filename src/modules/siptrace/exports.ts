import type { ModuleExports } from '../contract.js';
import { MessageTap, SipTrace, type SiptraceParams } from './index.js';

/** siptrace (HEPv3 capture of every message). */
export const siptraceExports: ModuleExports = {
  name: 'siptrace',
  kind: 'flowgate',
  note: 'HEPv3 capture of every message (modules.siptrace)',
  config: 'siptrace',
  needs: [],
  notInCfg:
    "flowgate's siptrace captures every message without script functions: configure modules.siptrace in flowgate.yaml",
  functions: [],
  params: [
    {
      name: 'duplicate_uri',
      type: 'string',
      doc: 'The HEP collector: udp:host:port or tcp:host:port. Required.',
    },
    {
      name: 'hep_capture_id',
      type: 'int',
      default: 1,
      doc: 'Capture agent id written into every HEP packet.',
    },
    {
      name: 'auth_key',
      type: 'string',
      default: null,
      doc: 'Shared key sent in every packet (HEP chunk 0x000e); null: none.',
    },
    {
      name: 'trace_on',
      type: 'flag',
      default: true,
      doc: 'Capture from start; 0: start switched off.',
    },
  ],
  // the tap is always there (capture and `flowgate ctl trace` read it); HEP only with parameters
  create: (ctx) => {
    const tap = new MessageTap({ name: ctx.element.name, transport: ctx.element.transport });
    const p = ctx.params as SiptraceParams | undefined;
    const siptrace = p === undefined ? undefined : new SipTrace(tap, p, { logger: ctx.logger });
    return {
      instance: siptrace,
      provides: { tap },
      start: () => siptrace?.start(),
      close: async () => {
        tap.close();
        await siptrace?.close();
      },
    };
  },
};
