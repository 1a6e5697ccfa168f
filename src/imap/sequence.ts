/**
 * Sequence sets (RFC 9051 9: sequence-set, seq-range, "*", and "$" from RFC 5182 SEARCHRES).
 * Kept as ranges; "*" is resolved against the mailbox when the set is used.
 */

export interface Range { from: number; to: number }

/** `Infinity` stands for "*" until resolved. */
export type SequenceSet = { kind: 'set'; ranges: Range[] } | { kind: 'saved' };

const STAR = Infinity;

export function parseSequenceSet(s: string): SequenceSet | null {
  if (s === '$') return { kind: 'saved' };
  if (!s.length) return null;
  const ranges: Range[] = [];
  for (const part of s.split(',')) {
    const m = /^(\d+|\*)(?::(\d+|\*))?$/.exec(part);
    if (!m) return null;
    const a = m[1] === '*' ? STAR : Number(m[1]);
    const b = m[2] === undefined ? a : m[2] === '*' ? STAR : Number(m[2]);
    // nz-number: 1..4294967295
    if (a === 0 || b === 0 || a > 4294967295 && a !== STAR || b > 4294967295 && b !== STAR) return null;
    ranges.push(a <= b ? { from: a, to: b } : { from: b, to: a });
  }
  return { kind: 'set', ranges };
}

/** Ranges with "*" replaced by `max` (the largest number in use; a range "n:*" with n > max is "max:n"). */
export function resolveRanges(ranges: Range[], max: number): Range[] {
  return ranges.map((r) => {
    const from = r.from === STAR ? max : r.from;
    const to = r.to === STAR ? max : r.to;
    return from <= to ? { from, to } : { from: to, to: from };
  });
}

export function inRanges(ranges: Range[], n: number): boolean {
  for (const r of ranges) if (n >= r.from && n <= r.to) return true;
  return false;
}

/** Compact form of sorted or unsorted numbers: "1:3,7,9:10" (used in COPYUID, ESEARCH ALL, VANISHED). */
export function formatSet(nums: number[], sort = true): string {
  if (!nums.length) return '';
  const a = sort ? [...nums].sort((x, y) => x - y) : nums;
  const out: string[] = [];
  let start = a[0], prev = a[0];
  for (let i = 1; i <= a.length; i++) {
    const n = a[i];
    if (i < a.length && n === prev + 1) {
      prev = n;
      continue;
    }
    out.push(start === prev ? `${start}` : `${start}:${prev}`);
    start = prev = n;
  }
  return out.join(',');
}
