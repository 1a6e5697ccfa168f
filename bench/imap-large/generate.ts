/**
 * The bench's mailbox: `count` deterministic messages (a seeded generator, the same bytes on
 * every run and for both servers), 1.5 to 6 KB each: 300 senders, subjects and bodies drawn from
 * a 3,000-word vocabulary, Date headers spread over five years in an order unrelated to the
 * arrival order (so SORT (DATE) has work to do), some in ISO-8859-1 quoted-printable with
 * accents, and the word "zanzibar" in one message out of 200 (what UID SEARCH TEXT looks for).
 */

/** The word of `UID SEARCH TEXT`: in messages whose index is a multiple of RARE_EVERY. */
export const RARE_WORD = 'zanzibar';
export const RARE_EVERY = 200;

/** xorshift32: small, fast, the same sequence everywhere. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'ta', 'so', 'vel', 'dor', 'an', 'qui', 'pe', 'lu', 'ser', 'no', 'bra', 'ti', 'gal', 'mon', 'es', 'ur'];
const WORDS: string[] = (() => {
  const r = rng(7);
  const out = new Set<string>();
  while (out.size < 3000) {
    const n = 2 + Math.floor(r() * 3);
    let w = '';
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(r() * SYLLABLES.length)];
    if (w !== RARE_WORD) out.add(w);
  }
  return [...out];
})();
const ACCENTED = ['mañana', 'canción', 'año', 'corazón', 'pequeño', 'está', 'después', 'también'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

function rfc5322Date(t: number): string {
  const d = new Date(t);
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** Message `i` (0-based) of the mailbox, CRLF line endings. Also its arrival time (ms). */
export function message(i: number): { bytes: Buffer; arrived: number } {
  const r = rng(i * 2654435761 + 12345);
  const word = () => WORDS[Math.floor(r() * WORDS.length)];
  const words = (n: number) => Array.from({ length: n }, word).join(' ');
  const sender = Math.floor(r() * 300);
  const sent = Date.UTC(2021, 0, 1) + Math.floor(r() * 5 * 365 * 86400) * 1000;
  const latin1 = r() < 0.1;
  const lines: string[] = [];
  const nLines = 20 + Math.floor(r() * 60);
  for (let l = 0; l < nLines; l++) lines.push(words(6 + Math.floor(r() * 8)));
  if (latin1) lines.splice(Math.floor(r() * lines.length), 0, ACCENTED.join(' '));
  if (i % RARE_EVERY === 0) lines.splice(Math.floor(r() * lines.length), 0, `${words(3)} ${RARE_WORD} ${words(3)}`);
  let body = lines.join('\r\n') + '\r\n';
  const head = [
    `Return-Path: <sender${sender}@example.org>`,
    `From: ${word()} ${word()} <sender${sender}@example.org>`,
    'To: bench0@example.test',
    `Subject: ${i % 7 === 0 ? 'Re: ' : ''}${words(3 + Math.floor(r() * 5))}`,
    `Date: ${rfc5322Date(sent)}`,
    `Message-ID: <bench.${i}@example.org>`,
    'MIME-Version: 1.0',
  ];
  if (latin1) {
    head.push('Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable');
    body = [...Buffer.from(body, 'latin1')].map((b) => (b >= 0x80 || b === 0x3d ? `=${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b))).join('');
  } else head.push('Content-Type: text/plain; charset=utf-8');
  return { bytes: Buffer.from(head.join('\r\n') + '\r\n\r\n' + body, 'latin1'), arrived: Date.UTC(2026, 0, 1) + i * 60_000 };
}
