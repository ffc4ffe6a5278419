import type { SipMessage } from '../message/message.js';
import type { Address, FlowId, ListenerInfo, Proto, ReceiveInfo } from './types.js';

/**
 * What the transport layer publishes on `flowgate:message:in` (src/util/diagnostics.ts): a message
 * that passed scanning and validation, just before it goes up to the transaction layer. Its bytes
 * are `msg.buf`, exactly as received.
 */
export interface MessageInEvent {
  readonly msg: SipMessage;
  readonly info: ReceiveInfo;
}

/**
 * What the transport layer publishes on `flowgate:message:out`: bytes handed to a socket (a
 * message it forwards or answers, or a stateless error reply). `listener` tells which transport
 * layer (element) sent them: flow ids repeat across the elements of one process.
 */
export interface MessageOutEvent {
  readonly buf: Buffer;
  readonly flowId: FlowId;
  readonly proto: Proto;
  /** The listening socket the bytes leave from (for connections: the one the flow belongs to). */
  readonly listener: ListenerInfo;
  /** Where the bytes go. */
  readonly remote: Address;
  /**
   * The local address and port they leave from: the connection's own (the listener's, with port
   * 0, while an outgoing connection is still connecting), or the UDP listener's.
   */
  readonly local: Address;
}
