import type { ByteString } from './types.js';

/**
 * RFC 5322 3.3 date-time, with the obsolete forms of 4.3 (two- and three-digit years, zone
 * names, military zones, comments and white space anywhere), for SORT (RFC 5256: by the
 * instant) and SENTON/SENTBEFORE/SENTSINCE (RFC 3501 6.4.4: by the date as written, "disregarding
 * time and timezone").
 */

export interface MessageDate {
  /** The instant, in milliseconds since the epoch (may be negative: 1901 is a date). */
  time: number;
  /** The calendar date as written in the header (before any zone adjustment). */
  year: number;
  month: number; // 1-12
  day: number;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** RFC 5322 4.3 obs-zone; military zones other than Z are "-0000" (unknown), as 4.3 says. */
const ZONES: Record<string, number> = {
  ut: 0, utc: 0, gmt: 0, z: 0,
  edt: -4 * 60, est: -5 * 60, cdt: -5 * 60, cst: -6 * 60, mdt: -6 * 60, mst: -7 * 60,
  pdt: -7 * 60, pst: -8 * 60,
};

/** Parses a Date header value; null when it is not a valid date. */
export function parseMessageDate(raw: ByteString): MessageDate | null {
  // comments and folding out, then tokens
  let s = raw.replace(/[\r\n]/g, ' ');
  for (let i = 0; i < 5 && s.includes('('); i++) s = s.replace(/\([^()]*\)/g, ' ');
  const m = /^\s*(?:[a-z]{3,}\s*,?\s*)?(\d{1,2})\s*([a-z]{3,})\.?\s*(\d{2,4})\s+(\d{1,2})\s*:\s*(\d{2})(?:\s*:\s*(\d{2}))?\s*([+-]\d{4}|[a-z]+)?/i.exec(s);
  if (m === null) return null;
  const day = Number(m[1]);
  const month = MONTHS.indexOf(m[2].slice(0, 3).toLowerCase()) + 1;
  let year = Number(m[3]);
  if (m[3].length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3].length === 3) year += 1900;
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month === 0 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 60) return null;
  let offset = 0;
  const zone = m[7];
  if (zone !== undefined) {
    if (/^[+-]\d{4}$/.test(zone)) {
      const h = Number(zone.slice(1, 3));
      const mm = Number(zone.slice(3, 5));
      if (mm > 59) return null;
      offset = (zone[0] === '-' ? -1 : 1) * (h * 60 + mm);
    } else {
      offset = ZONES[zone.toLowerCase()] ?? 0;
    }
  }
  const time = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59)) - offset * 60000;
  return { time, year, month, day };
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
