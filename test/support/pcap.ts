// Reads a classic pcap file (what sngrep -O writes): every record's time, addresses, ports, IP
// protocol and transport payload. Ethernet (or Linux cooked) frames over IPv4 / IPv6, UDP or TCP.
// Not a test file.

/** One packet of a pcap file. */
export interface PcapRecord {
  readonly timeSec: number;
  /** Microseconds (nanosecond files are read as microseconds). */
  readonly timeUsec: number;
  readonly family: 4 | 6;
  /** 17 UDP, 6 TCP. */
  readonly ipProto: number;
  readonly src: { address: string; port: number };
  readonly dst: { address: string; port: number };
  readonly payload: Buffer;
}

function ip4(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

function ip6(b: Buffer, o: number): string {
  const g: string[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(o + i * 2).toString(16));
  return g.join(':').replace(/\b(?:0:){2,}/, ':');
}

/** The records of a pcap file; throws on a file that is not pcap. */
export function readPcap(file: Buffer): PcapRecord[] {
  if (file.length < 24) return [];
  const magic = file.readUInt32LE(0);
  let le: boolean;
  let nano = false;
  if (magic === 0xa1b2c3d4) le = true;
  else if (magic === 0xd4c3b2a1) le = false;
  else if (magic === 0xa1b23c4d) {
    le = true;
    nano = true;
  } else if (magic === 0x4d3cb2a1) {
    le = false;
    nano = true;
  } else throw new Error(`not a pcap file (magic ${magic.toString(16)})`);
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const linkType = u32(20);
  const out: PcapRecord[] = [];
  for (let o = 24; o + 16 <= file.length; ) {
    const sec = u32(o);
    const frac = u32(o + 4);
    const incl = u32(o + 8);
    const frame = file.subarray(o + 16, o + 16 + incl);
    o += 16 + incl;
    let p: number;
    let etherType: number;
    if (linkType === 1) {
      p = 14;
      etherType = frame.readUInt16BE(12);
    } else if (linkType === 113) {
      p = 16;
      etherType = frame.readUInt16BE(14);
    } else throw new Error(`pcap link type ${linkType} not read here`);
    let family: 4 | 6;
    let proto: number;
    let src: string;
    let dst: string;
    let ipEnd: number;
    if (etherType === 0x0800) {
      family = 4;
      const ihl = ((frame[p] ?? 0) & 0x0f) * 4;
      proto = frame[p + 9] ?? 0;
      src = ip4(frame, p + 12);
      dst = ip4(frame, p + 16);
      ipEnd = p + frame.readUInt16BE(p + 2);
      p += ihl;
    } else if (etherType === 0x86dd) {
      family = 6;
      proto = frame[p + 6] ?? 0;
      src = ip6(frame, p + 8);
      dst = ip6(frame, p + 24);
      ipEnd = p + 40 + frame.readUInt16BE(p + 4);
      p += 40;
    } else continue;
    const sport = frame.readUInt16BE(p);
    const dport = frame.readUInt16BE(p + 2);
    const hdr = proto === 6 ? ((frame[p + 12] ?? 0) >> 4) * 4 : 8;
    out.push({
      timeSec: sec,
      timeUsec: nano ? Math.floor(frac / 1000) : frac,
      family,
      ipProto: proto,
      src: { address: src, port: sport },
      dst: { address: dst, port: dport },
      payload: Buffer.from(frame.subarray(p + hdr, Math.min(ipEnd, frame.length))),
    });
  }
  return out;
}
