import type { SipMessage } from '../message/message.js';
import type { MessageLimits } from '../message/scanner.js';

/** SIP transports flowgate serves (RFC 3261 §18, RFC 7118). */
export const Proto = {
  UDP: 'udp',
  TCP: 'tcp',
  TLS: 'tls',
  WS: 'ws',
  WSS: 'wss',
} as const;
export type Proto = (typeof Proto)[keyof typeof Proto];

/** True for connection-oriented transports (no SIP retransmissions, RFC 3261 §17.1.1.2). */
export function isReliable(p: Proto): boolean {
  return p !== Proto.UDP;
}

/** True for TLS and WSS. */
export function isSecure(p: Proto): boolean {
  return p === Proto.TLS || p === Proto.WSS;
}

/** The Via transport token for a proto (RFC 3261 §20.42, RFC 7118 §5.4). */
export function viaTransport(p: Proto): string {
  return p.toUpperCase();
}

/** Parses a Via / URI transport token into a Proto. */
export function protoFromToken(t: string | undefined): Proto | undefined {
  switch (t?.toLowerCase()) {
    case 'udp':
      return Proto.UDP;
    case 'tcp':
      return Proto.TCP;
    case 'tls':
      return Proto.TLS;
    case 'ws':
      return Proto.WS;
    case 'wss':
      return Proto.WSS;
    default:
      return undefined;
  }
}

export interface Address {
  /** IP address: dotted IPv4 or IPv6 without brackets. */
  readonly address: string;
  readonly port: number;
}

/**
 * Identifies a flow (RFC 5626 §3): a connection, or a (listening UDP socket, remote address:port)
 * pair. The id names the worker process that owns it (`w<n>`), so that several processes can later
 * share one host: `w0/c17` (a connection), `w0/u1/192.0.2.1:5070` (UDP listener 1 and a peer).
 */
export type FlowId = string;

/** A listening socket. */
export interface ListenerInfo {
  readonly id: number;
  readonly proto: Proto;
  /** Bound address (IPv6 without brackets) and port (the real one when configured as 0). */
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** Host and port to write in Via, Record-Route and Path instead of the bound address (NAT / DNS name). */
  readonly advertise: { host: string; port: number } | undefined;
}

/** Where a received message came from (RFC 3261 §18.2.1, RFC 5626 §5.2). */
export interface ReceiveInfo {
  readonly proto: Proto;
  /** The listening socket's address and port (not the packet's destination: haproxy-safe, Kamailio PR #4105). */
  readonly local: Address;
  readonly remote: Address;
  readonly flowId: FlowId;
  readonly listener: ListenerInfo;
  readonly secure: boolean;
}

export const FlowState = {
  /** An outgoing connection not connected yet, or an incoming TLS connection before its handshake. */
  Connecting: 'connecting',
  Open: 'open',
  Closed: 'closed',
} as const;
export type FlowState = (typeof FlowState)[keyof typeof FlowState];

/** Why a flow ended (reported with the flow-close event and to `flowgate ctl`). */
export const FlowCloseReason = {
  /** The peer closed the connection or reset it. */
  Remote: 'remote',
  /** No traffic for `tcp_connection_lifetime` (RFC 5626 §5.4). */
  Lifetime: 'lifetime',
  /** WebSocket keep-alive ping not answered within `keepalive_timeout`. */
  KeepaliveTimeout: 'keepalive-timeout',
  /** No complete message within the first-message deadline. */
  FirstMessageTimeout: 'first-message-timeout',
  /** Framing error (e.g. missing Content-Length on a stream, RFC 3261 §18.3). */
  ProtocolError: 'protocol-error',
  /**
   * Over the per-connection cap `maxBufferedBytes`: received bytes without a complete message, or
   * output (a message or a CRLF keep-alive answer) to a peer that does not read.
   */
  Overflow: 'overflow',
  /** Refused by the connection caps. */
  Limit: 'limit',
  /** Connect failed or a socket error. */
  Error: 'error',
  /** Closed locally (shutdown or management API). */
  Local: 'local',
} as const;
export type FlowCloseReason = (typeof FlowCloseReason)[keyof typeof FlowCloseReason];

/** A snapshot of a flow, for the layers above and for management. */
export interface FlowInfo {
  readonly id: FlowId;
  readonly proto: Proto;
  readonly local: Address;
  readonly remote: Address;
  readonly listener: ListenerInfo;
  readonly secure: boolean;
  /** Monotonic ms (Clock.now) of creation, last traffic in either direction, last keep-alive from the peer. */
  readonly openedAt: number;
  readonly lastActivity: number;
  readonly lastKeepalive: number | undefined;
  readonly state: FlowState;
  /** True for a connection flowgate opened itself. */
  readonly outgoing: boolean;
}

/** Where to send. */
export type SendTarget =
  /** Exactly this flow; never a new connection (RFC 5626 §5.3). */
  | { readonly flowId: FlowId }
  /**
   * An address: for UDP, sent from `listenerId` (or a listener of the same family); for TCP/TLS an
   * open connection to it is reused, else one is opened. WS/WSS cannot be opened outwards.
   */
  | {
      readonly proto: Proto;
      readonly address: string;
      readonly port: number;
      readonly listenerId?: number;
    };

export type SendErrorCode =
  | 'SIP_ERR_FLOW_GONE'
  | 'SIP_ERR_TRANSPORT_UNSUPPORTED'
  | 'SIP_ERR_TRANSPORT_SEND'
  | 'SIP_ERR_TRANSPORT_LIMIT';

/** Result of a send, known at once (no promise per packet). */
export type SendResult =
  | { readonly ok: true; readonly flowId: FlowId; readonly listener: ListenerInfo }
  | { readonly ok: false; readonly code: SendErrorCode; readonly message: string };

/** Called later when a send that was accepted fails (e.g. a connect that fails). */
export type SendErrorCallback = (code: SendErrorCode, message: string) => void;

/** Upcalls from the transport layer to the layer above (the transaction layer). */
export interface TransportUser {
  /** A well-formed message (scanned; basic header checks passed). */
  onMessage(msg: SipMessage, info: ReceiveInfo): void;
  onFlowOpen?(flow: FlowInfo): void;
  onFlowClose?(flow: FlowInfo, reason: FlowCloseReason): void;
}

export interface ListenConfig {
  readonly proto: Proto;
  readonly address: string;
  /** 0 = ephemeral (tests). */
  readonly port: number;
  readonly advertise?: { host: string; port: number } | undefined;
}

export interface TlsConfig {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly ca?: string | Buffer | undefined;
  /** Ask clients for a certificate (mutual TLS). */
  readonly requestCert?: boolean | undefined;
  /** When connecting out: check the server's certificate against `ca` (default true). */
  readonly rejectUnauthorized?: boolean | undefined;
}

export interface TransportConfig {
  readonly listen: readonly ListenConfig[];
  readonly tls?: TlsConfig | undefined;
  /** Worker number written into flow ids. */
  readonly workerId?: number | undefined;
  readonly limits?: Partial<MessageLimits> | undefined;
  /** Seconds a TCP/TLS/WS connection may stay idle before it is closed (Kamailio `tcp_connection_lifetime`, default 120). */
  readonly tcpConnectionLifetime?: number | undefined;
  /** Seconds of WebSocket idleness before a keep-alive Ping (Kamailio websocket `keepalive_timeout`, default 180). */
  readonly wsKeepaliveTimeout?: number | undefined;
  /** Seconds between WebSocket keep-alive checks (Kamailio `keepalive_interval`, default 1). */
  readonly wsKeepaliveInterval?: number | undefined;
  /**
   * Connection caps: accepted connections in total (default 2048) and per remote IP (default 64);
   * buffered bytes per connection, in each direction; ms to a first complete message.
   */
  readonly maxConnections?: number | undefined;
  readonly maxConnectionsPerIp?: number | undefined;
  /**
   * Connections this layer opens itself (to a registrar, to a UA whose flow is gone; default 1024).
   * A budget apart from `maxConnections`: accepted connections cannot starve them, and they cannot
   * use up the accept budget.
   */
  readonly maxOutgoingConnections?: number | undefined;
  readonly maxBufferedBytes?: number | undefined;
  readonly firstMessageTimeout?: number | undefined;
  /** Software attribute in STUN responses (RFC 5389 §15.10); empty string: none. Default `flowgate`. */
  readonly stunSoftware?: string | undefined;
  /** Seconds an outgoing TCP/TLS connect may take (Kamailio `tcp_connect_timeout`, default 10). */
  readonly connectTimeout?: number | undefined;
}

/** Keep-alives the transport layer answers (counted in {@link TransportStats}). */
export const KeepaliveKind = {
  /** `\r\n\r\n` on TCP/TLS answered with `\r\n` (RFC 5626 §3.5.1). */
  Crlf: 'crlf',
  /** A WebSocket frame `\r\n` or `\r\n\r\n` answered with a `\r\n` frame. */
  WsCrlf: 'ws-crlf',
  /** A WebSocket Ping answered with a Pong (RFC 6455 §5.5.2). */
  WsPing: 'ws-ping',
  /** A STUN Binding request answered with a Binding success response (RFC 5626 §8, RFC 5389). */
  Stun: 'stun',
} as const;
export type KeepaliveKind = (typeof KeepaliveKind)[keyof typeof KeepaliveKind];

/** Why a received datagram, frame or message did not reach {@link TransportUser.onMessage}. */
export const DropReason = {
  /** UDP datagram too short to be SIP (and not STUN). */
  Runt: 'runt',
  /** UDP datagram of only CRLF / whitespace (RFC 5626 §3.5.1 forbids CRLF keep-alive on UDP). */
  Crlf: 'crlf',
  /** UDP datagram from source port 0. */
  SourcePort0: 'source-port-0',
  /** STUN datagram that gets no answer (short, an indication or a response). */
  StunIgnored: 'stun-ignored',
  /** A request that failed scanning or validation (answered when it was readable). */
  BadRequest: 'bad-request',
  /** A response that failed scanning or validation (never answered). */
  BadResponse: 'bad-response',
  /** Bytes that are not a SIP message at all (no readable start line / header block). */
  Garbage: 'garbage',
  /** A stream that could not be framed (missing Content-Length, too large). */
  Framing: 'framing',
  /** The layer above threw from onMessage (logged; the socket keeps working). */
  UserError: 'user-error',
  /**
   * A WebSocket Ping left without a Pong: our output to the peer is already at `maxBufferedBytes`
   * (a peer that pings but does not read).
   */
  KeepaliveOverCap: 'keepalive-over-cap',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

/** Why a connection was refused at accept (before it became a flow), or an outgoing one not opened. */
export const RefuseReason = {
  /** `maxConnections` reached. */
  Limit: 'limit',
  /** `maxConnectionsPerIp` reached for the remote IP. */
  LimitPerIp: 'limit-per-ip',
  /** `maxOutgoingConnections` reached: an outgoing connect was not tried (`SIP_ERR_TRANSPORT_LIMIT`). */
  LimitOutgoing: 'limit-outgoing',
  /** WebSocket handshake without the `sip` subprotocol (RFC 7118 §4). */
  WsSubprotocol: 'ws-subprotocol',
  /** Not a valid WebSocket upgrade (plain HTTP request, bad HTTP). */
  WsHandshake: 'ws-handshake',
} as const;
export type RefuseReason = (typeof RefuseReason)[keyof typeof RefuseReason];

/** Counters of the transport layer (a snapshot; for `flowgate ctl` and tests). */
export interface TransportStats {
  readonly messagesIn: Readonly<Record<Proto, number>>;
  readonly messagesOut: Readonly<Record<Proto, number>>;
  readonly keepalives: Readonly<Record<KeepaliveKind, number>>;
  readonly drops: Readonly<Record<DropReason, number>>;
  /** Stateless error replies sent for bad requests (400/413/505/513…). */
  readonly errorReplies: number;
  /** STUN requests seen (answered with success or error). */
  readonly stunRequests: number;
  /** Connections accepted / opened outwards since start. */
  readonly connectionsAccepted: number;
  readonly connectionsOpened: number;
  /** Connections refused at accept (and outgoing connects refused by `maxOutgoingConnections`), by cause. */
  readonly connectionsRefused: Readonly<Record<RefuseReason, number>>;
  /** Connections closed, by reason (including ones that never became an open flow). */
  readonly connectionsClosed: Readonly<Record<FlowCloseReason, number>>;
  /** Connections open now (including ones still handshaking) and UDP flows tracked now. */
  readonly openConnections: number;
  readonly udpFlows: number;
}
