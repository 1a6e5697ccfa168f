/**
 * A message's header block (RFC 5322 2.2) as a list of fields, and the addr-specs inside an
 * address field (RFC 5322 3.4) as spans, so that a rewrite touches only the addresses and
 * keeps every other octet: display names, comments, encoded words, folding.
 *
 * Text here is the header's octets read as latin1: every delimiter is ASCII, and 8-bit
 * octets (RFC 6532 UTF-8) go back out unchanged.
 */

export interface HeaderField {
  /** As written ("From"), without the colon. */
  name: string;
  /** Everything after the colon up to the field's final CRLF, folding included. */
  value: string;
}

/** A line that is neither a field nor a continuation is kept as it is. */
export type HeaderLine = { kind: 'field'; field: HeaderField } | { kind: 'other'; text: string };

/** `block` ends with the CRLF of its last line (the empty line that follows is not part of it). */
export function splitHeader(block: string): HeaderLine[] {
  const out: HeaderLine[] = [];
  const lines = block.split('\r\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    const last = out[out.length - 1];
    if ((line.startsWith(' ') || line.startsWith('\t')) && last?.kind === 'field') {
      last.field.value += '\r\n' + line;
      continue;
    }
    // RFC 5322 3.6.8 field-name = 1*ftext (printable ASCII but ":"), then ":".
    const m = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:(.*)$/s.exec(line);
    out.push(m ? { kind: 'field', field: { name: m[1], value: m[2] } } : { kind: 'other', text: line });
  }
  return out;
}

export function joinHeader(lines: HeaderLine[]): string {
  return lines.map((l) => (l.kind === 'field' ? `${l.field.name}:${l.field.value}` : l.text) + '\r\n').join('');
}

export interface Span {
  start: number;
  end: number;
}

/**
 * The addr-spec of every mailbox in an address-list value: the inside of `<...>` (after an
 * obsolete route), or a bare addr-spec between separators, without comments around it.
 * Quoted strings and comments are skipped as units, so `"a, b" <x@y>` is one mailbox.
 */
export function addressSpans(value: string): Span[] {
  const spans: Span[] = [];
  let segStart = 0;
  let angle = -1;
  let sawAngle = false;
  const n = value.length;
  const flushBare = (end: number) => {
    if (sawAngle) return;
    // The segment's text without comments at its edges and white space.
    let s = segStart;
    let e = end;
    for (;;) {
      while (s < e && /[\s]/.test(value[s])) s++;
      if (value[s] === '(') s = skipComment(value, s);
      else break;
    }
    for (;;) {
      while (e > s && /[\s]/.test(value[e - 1])) e--;
      if (value[e - 1] === ')') {
        const open = commentStartBefore(value, e - 1, s);
        if (open < 0) break;
        e = open;
      } else break;
    }
    if (e > s) spans.push({ start: s, end: e });
  };
  for (let i = 0; i < n; i++) {
    const c = value[i];
    if (c === '"') {
      i = skipQuoted(value, i) - 1;
    } else if (c === '(') {
      i = skipComment(value, i) - 1;
    } else if (c === '<' && angle < 0) {
      angle = i;
      sawAngle = true;
    } else if (c === '>' && angle >= 0) {
      let s = angle + 1;
      // RFC 5322 4.4 obs-route "@a,@b:" before the addr-spec.
      const inner = value.slice(s, i);
      const route = /^\s*@[^:]*:/.exec(inner);
      if (route) s += route[0].length;
      let e = i;
      while (s < e && /\s/.test(value[s])) s++;
      while (e > s && /\s/.test(value[e - 1])) e--;
      spans.push({ start: s, end: e });
      angle = -1;
    } else if (angle < 0 && (c === ',' || c === ';')) {
      flushBare(i);
      segStart = i + 1;
      sawAngle = false;
    } else if (angle < 0 && c === ':') {
      // A group's display name ends here (RFC 5322 3.4 group).
      segStart = i + 1;
      sawAngle = false;
    }
  }
  if (angle < 0) flushBare(n);
  return spans;
}

function skipQuoted(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '"') return j + 1;
  }
  return s.length;
}

/** Index after the comment starting at `i` (nested comments, quoted pairs: RFC 5322 3.2.2). */
function skipComment(s: string, i: number): number {
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '(') depth++;
    else if (s[j] === ')' && --depth === 0) return j + 1;
  }
  return s.length;
}

function commentStartBefore(s: string, close: number, min: number): number {
  let depth = 0;
  for (let j = close; j >= min; j--) {
    if (s[j] === ')' && s[j - 1] !== '\\') depth++;
    else if (s[j] === '(' && s[j - 1] !== '\\' && --depth === 0) return j;
  }
  return -1;
}

/** local and domain of an addr-spec (domain "" when unqualified); "@" inside quotes does not count. */
export function splitAddrSpec(spec: string): { local: string; domain: string } {
  let at = -1;
  for (let i = 0; i < spec.length; i++) {
    if (spec[i] === '"') i = skipQuoted(spec, i) - 1;
    else if (spec[i] === '@') at = i;
  }
  return at < 0 ? { local: spec, domain: '' } : { local: spec.slice(0, at), domain: spec.slice(at + 1) };
}
