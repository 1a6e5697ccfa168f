import { parseMessageDate } from '../mime/date.js';

/**
 * RFC 5260 date parts of an instant seen in a zone (minutes east of UTC). `zoneOf` reads the
 * zone written in a Date value (RFC 5322 3.3), for :originalzone.
 */
export interface ZonedDate {
  time: number;
  /** Minutes east of UTC. */
  zone: number;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const NAMED: Record<string, number> = {
  ut: 0, utc: 0, gmt: 0, z: 0, edt: -240, est: -300, cdt: -300, cst: -360, mdt: -360, mst: -420, pdt: -420, pst: -480,
};

/** A date header value: its instant and written zone; null when it is not a valid date. */
export function parseDateValue(value: string): ZonedDate | null {
  const d = parseMessageDate(value);
  if (d === null) return null;
  return { time: d.time, zone: zoneOf(value) };
}

function zoneOf(value: string): number {
  const s = value.replace(/\([^)]*\)/g, ' ').trim();
  const m = /([+-])(\d\d)(\d\d)\s*$/.exec(s);
  if (m !== null) return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  const n = /([A-Za-z]+)\s*$/.exec(s);
  return n !== null ? NAMED[n[1].toLowerCase()] ?? 0 : 0;
}

/** "+hhmm" / "-hhmm" to minutes. */
export function parseZone(z: string): number | null {
  const m = /^([+-])(\d\d)(\d\d)$/.exec(z);
  if (m === null || Number(m[3]) > 59) return null;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

function zoneText(z: number, colon: boolean): string {
  const a = Math.abs(z);
  return (z < 0 ? '-' : '+') + two(Math.floor(a / 60)) + (colon ? ':' : '') + two(a % 60);
}

/** The date part (RFC 5260 4.2) of `d` in zone `zone`; null for an unknown part. */
export function datePart(d: ZonedDate, part: string): string | null {
  const t = new Date(d.time + d.zone * 60000);
  const y = String(t.getUTCFullYear()).padStart(4, '0');
  const mo = two(t.getUTCMonth() + 1), da = two(t.getUTCDate());
  const h = two(t.getUTCHours()), mi = two(t.getUTCMinutes()), s = two(t.getUTCSeconds());
  switch (part.toLowerCase()) {
    case 'year': return y;
    case 'month': return mo;
    case 'day': return da;
    case 'date': return `${y}-${mo}-${da}`;
    // Modified Julian Day: days since 1858-11-17 (the Unix epoch is MJD 40587)
    case 'julian': return String(Math.floor((d.time + d.zone * 60000) / 86400000) + 40587);
    case 'hour': return h;
    case 'minute': return mi;
    case 'second': return s;
    case 'time': return `${h}:${mi}:${s}`;
    case 'iso8601': return `${y}-${mo}-${da}T${h}:${mi}:${s}${zoneText(d.zone, true)}`;
    case 'std11':
      return `${DAYS[t.getUTCDay()]}, ${da} ${MONTHS[t.getUTCMonth()]} ${y} ${h}:${mi}:${s} ${zoneText(d.zone, false)}`;
    case 'zone': return zoneText(d.zone, false);
    case 'weekday': return String(t.getUTCDay());
    default: return null;
  }
}
