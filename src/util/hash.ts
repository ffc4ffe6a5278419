/**
 * 32-bit FNV-1a over a string's characters, then murmur3's finalizer (fmix32): FNV alone clusters
 * on inputs that differ only in their last characters. Unsigned. `basis` replaces FNV's offset
 * basis (a per-process seed where inputs come from outside).
 */
export function fnv1aMix(s: string, basis = 0x811c9dc5): number {
  let h = basis;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
