import { channel } from 'node:diagnostics_channel';

/**
 * Diagnostics channels (node:diagnostics_channel): nearly free when nobody subscribes; tracing,
 * metrics and tests subscribe to them.
 */
export const channels = {
  messageIn: channel('flowgate:message:in'),
  messageOut: channel('flowgate:message:out'),
  messageDropped: channel('flowgate:message:dropped'),
  txState: channel('flowgate:tx:state'),
  flowOpen: channel('flowgate:flow:open'),
  flowClose: channel('flowgate:flow:close'),
  keepalive: channel('flowgate:flow:keepalive'),
} as const;
