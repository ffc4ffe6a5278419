/** The rest of a header value after its first comma-separated value, or undefined (no more values). */
export function restAfterFirstValue(v: string): string | undefined {
  let q = false;
  let angle = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x5c && q) {
      i++;
      continue;
    }
    if (c === 0x22) q = !q;
    else if (!q && c === 0x3c) angle = true;
    else if (!q && c === 0x3e) angle = false;
    else if (!q && !angle && c === 0x2c) {
      const rest = v.slice(i + 1).trim();
      return rest.length > 0 ? rest : undefined;
    }
  }
  return undefined;
}

/** The first comma-separated value of a header value. */
export function firstValue(v: string): string {
  let q = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x5c && q) {
      i++;
      continue;
    }
    if (c === 0x22) q = !q;
    else if (!q && c === 0x2c) return v.slice(0, i).trim();
  }
  return v.trim();
}
