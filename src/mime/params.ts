import { decodeCharset, utf8ByteString } from './charset.js';
import type { ByteString, MimeDisposition, MimeParams } from './types.js';

/**
 * Structured MIME header values: Content-Type (RFC 2045 5.1), Content-Disposition (RFC 2183),
 * Content-Language (RFC 3282), Content-Transfer-Encoding (RFC 2045 6.1), parameters with
 * RFC 2231 continuations and charsets. Input is a ByteString; CR and LF count as white space
 * (folding), comments are skipped (RFC 822 lexical rules apply to these fields).
 */

const HT = 9, LF = 10, CR = 13, SP = 32;

function isWsp(c: number): boolean {
  return c === SP || c === HT || c === CR || c === LF;
}

/** RFC 2045 5.1 tspecials, plus white space and CTLs: what ends a token. 8-bit octets do not. */
function isTokenChar(c: number): boolean {
  if (c <= SP || c === 127) return false;
  switch (c) {
    case 0x28: case 0x29: case 0x3c: case 0x3e: case 0x40: case 0x2c: case 0x3b: case 0x3a:
    case 0x5c: case 0x22: case 0x2f: case 0x5b: case 0x5d: case 0x3f: case 0x3d:
      return false;
    default:
      return true;
  }
}

/** Skips white space and (nested, escaped) comments. */
export function skipCfws(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isWsp(c)) { i++; continue; }
    if (c !== 0x28) break;
    let depth = 0;
    while (i < n) {
      const d = s.charCodeAt(i);
      if (d === 0x5c) { i += 2; continue; }
      if (d === 0x28) depth++;
      else if (d === 0x29 && --depth === 0) { i++; break; }
      i++;
    }
  }
  return i;
}

function readToken(s: string, i: number): [string, number] {
  const start = i;
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  return [s.slice(start, i), i];
}

/** s[i] is '"'. Returns the unescaped content; an unterminated string runs to the end. */
function readQuoted(s: string, i: number): [string, number] {
  let out = '';
  i++;
  let start = i;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x22) { out += s.slice(start, i); return [out, i + 1]; }
    if (c === 0x5c && i + 1 < s.length) {
      out += s.slice(start, i);
      start = i + 1;
      i += 2;
      continue;
    }
    if (c === CR || c === LF) {
      // Folding inside a quoted string: the CRLF goes, the white space after it stays.
      out += s.slice(start, i);
      start = i + 1;
    }
    i++;
  }
  return [out + s.slice(start), i];
}

/** A parameter value written without quotes: tolerant of tspecials like '=' and '/'. */
function readLooseValue(s: string, i: number): [string, number] {
  const start = i;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (isWsp(c) || c === 0x3b || c === 0x22 || c === 0x28) break;
    i++;
  }
  return [s.slice(start, i), i];
}

/** Skips what cannot be parsed up to the next ';' outside quotes and comments. */
function skipToSemicolon(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x3b) return i;
    if (c === 0x22) { i = readQuoted(s, i)[1]; continue; }
    if (c === 0x28) { i = skipCfws(s, i); continue; }
    i++;
  }
  return i;
}

interface RawParam { name: string; value: string }

/** `*(";" parameter)` from position i, tolerant: empty names and values are kept. */
function readParams(s: string, i: number): RawParam[] {
  const out: RawParam[] = [];
  for (;;) {
    i = skipToSemicolon(s, i);
    if (i >= s.length) return out;
    i = skipCfws(s, i + 1);
    const [name, afterName] = readToken(s, i);
    i = skipCfws(s, afterName);
    if (s.charCodeAt(i) !== 0x3d) continue; // no '=': not a parameter
    i = skipCfws(s, i + 1);
    let value: string;
    if (s.charCodeAt(i) === 0x22) [value, i] = readQuoted(s, i);
    else [value, i] = readLooseValue(s, i);
    if (out.length < MAX_PARAMS) out.push({ name, value });
  }
}

const MAX_PARAMS = 500;

export interface ContentType {
  type: string;
  subtype: string;
  params: MimeParams;
}

/**
 * RFC 2045 5.1 `type "/" subtype *(";" parameter)`. Returns null for a value without a valid
 * type/subtype pair: RFC 2045 5.2 then has the part treated as text/plain; charset=us-ascii.
 * Parameter names and values keep their case, as written (names compare case-insensitively).
 */
export function parseContentType(s: ByteString): ContentType | null {
  let i = skipCfws(s, 0);
  const [type, a] = readToken(s, i);
  i = skipCfws(s, a);
  if (type === '' || s.charCodeAt(i) !== 0x2f) return null;
  i = skipCfws(s, i + 1);
  const [subtype, b] = readToken(s, i);
  if (subtype === '') return null;
  // Anything between the subtype and the first ';' is skipped by readParams.
  const raw = readParams(s, b);
  return { type: type.toLowerCase(), subtype: subtype.toLowerCase(), params: joinRfc2231(raw) };
}

/**
 * RFC 2183 `disposition-type *(";" disposition-parm)`. Type and parameter names are kept as
 * written; a missing type is "" (what a broken `; filename=x` gives).
 */
export function parseDisposition(s: ByteString): MimeDisposition {
  let i = skipCfws(s, 0);
  const [type, a] = readToken(s, i);
  i = a;
  return { type, params: joinRfc2231(readParams(s, i)) };
}

/** RFC 3282 `Language-List = Language-Tag [CFWS] *("," [CFWS] Language-Tag [CFWS])`. */
export function parseLanguage(s: ByteString): ByteString[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length && out.length < MAX_PARAMS) {
    i = skipCfws(s, i);
    const start = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (isWsp(c) || c === 0x2c || c === 0x28) break;
      i++;
    }
    if (i > start) out.push(s.slice(start, i));
    i = skipCfws(s, i);
    if (s.charCodeAt(i) === 0x2c) i++;
    else if (i < s.length && i === start) i++; // a stray special: skip it
  }
  return out;
}

/** RFC 2045 6.1: the mechanism token, as written (comments and white space dropped). */
export function parseTransferEncoding(s: ByteString): ByteString {
  const i = skipCfws(s, 0);
  return readLooseValue(s, i)[0];
}

/**
 * RFC 2231: `name*0`, `name*1`... are joined in section order, `name*`/`name*N*` sections are
 * percent-decoded and converted from their charset. As RFC 9051 7.5.2 asks, a value that needed
 * charset decoding is returned (in UTF-8) under the name `name*`, a plain continuation under
 * `name`. A value in an unknown charset stays as written, under `name*`. Each joined parameter
 * takes the place of its first section; other parameters keep their order.
 */
function joinRfc2231(raw: RawParam[]): MimeParams {
  interface Section { n: number; ext: boolean; value: string }
  const groups = new Map<string, { name: string; sections: Section[] }>();
  const out: (MimeParams[number] | { group: string })[] = [];
  for (const p of raw) {
    const m = /^(.+?)\*(?:(\d{1,3})(\*)?)?$/.exec(p.name);
    if (m === null) {
      out.push([p.name, p.value]);
      continue;
    }
    const base = m[1];
    const key = base.toLowerCase();
    const section: Section = m[2] === undefined
      ? { n: 0, ext: true, value: p.value }
      : { n: Number(m[2]), ext: m[3] !== undefined, value: p.value };
    let g = groups.get(key);
    if (g === undefined) {
      g = { name: base, sections: [] };
      groups.set(key, g);
      out.push({ group: key });
    }
    g.sections.push(section);
  }
  if (groups.size === 0) return out as MimeParams;
  return out.map((entry) => {
    if (Array.isArray(entry)) return entry;
    const g = groups.get(entry.group)!;
    return decodeSections(g.name, g.sections);
  });

  function decodeSections(name: string, sections: Section[]): [string, string] {
    sections.sort((x, y) => x.n - y.n);
    const anyExt = sections.some((s) => s.ext);
    if (!anyExt) return [name, sections.map((s) => s.value).join('')];
    // charset'language' prefixes the first section when it is extended (RFC 2231 4).
    let charset = 'us-ascii';
    const first = sections[0];
    let firstValue = first.value;
    if (first.ext) {
      const q1 = firstValue.indexOf("'");
      const q2 = q1 < 0 ? -1 : firstValue.indexOf("'", q1 + 1);
      if (q2 >= 0) {
        charset = firstValue.slice(0, q1) || 'us-ascii';
        firstValue = firstValue.slice(q2 + 1);
      }
    }
    const bytes: number[] = [];
    sections.forEach((s, idx) => {
      const v = idx === 0 ? firstValue : s.value;
      if (s.ext) percentDecode(v, bytes);
      else for (let i = 0; i < v.length; i++) bytes.push(v.charCodeAt(i) & 0xff);
    });
    const text = decodeCharset(Uint8Array.from(bytes), charset);
    if (text === null) return [name + '*', sections.map((s) => s.value).join('')];
    return [name + '*', utf8ByteString(text)];
  }
}

function percentDecode(v: string, out: number[]): void {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x25 && i + 2 < v.length && isHex(v.charCodeAt(i + 1)) && isHex(v.charCodeAt(i + 2))) {
      out.push(parseInt(v.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(c & 0xff);
    }
  }
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** The value of the first parameter named `name` (compared case-insensitively), or undefined. */
export function paramValue(params: MimeParams, name: string): ByteString | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of params) if (k.length === lower.length && k.toLowerCase() === lower) return v;
  return undefined;
}
