// Small text helpers for the tables.

/** A duration for people: `42 s`, `3 min 5 s`, `2 h 10 min`, `3 d 4 h`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** `… ago` of a wall-clock time, or a dash when there is none. */
export function ago(at: number | null, now: number): string {
  return at === null ? '—' : `${duration(now - at)} ago`;
}

/** A rate with a sensible number of digits. */
export function rate(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** `<urn:uuid:…>` without its angle brackets. */
export function bare(s: string | null): string {
  return s === null ? '—' : s.replace(/^<|>$/g, '');
}
