/**
 * The line format every sendmail map file shares (access, virtusertable, relay-domains,
 * local-host-names): one entry per line, `#` starts a comment anywhere outside double quotes
 * (so `20.20.128. RELAY #toda la subred` is a key, a value and a comment), blank lines and
 * leading/trailing white space do not count. Lines end in LF or CRLF.
 */

export interface MapLine {
  /** 1-based, for FILE:LINE messages. */
  n: number;
  /** The line without its comment, trimmed. */
  text: string;
}

/** The text of a line up to an unquoted `#`. */
export function stripComment(raw: string): string {
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '\\' && quoted) {
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    else if (ch === '#' && !quoted) return raw.slice(0, i);
  }
  return raw;
}

/** The meaningful lines of a map file. */
export function mapLines(text: string): MapLine[] {
  const out: MapLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = stripComment(lines[i].replace(/\r$/, '')).trim();
    if (t) out.push({ n: i + 1, text: t });
  }
  return out;
}

/** "key   value with spaces" -> ["key", "value with spaces"]; value "" when absent. */
export function splitKeyValue(text: string): [string, string] {
  const m = /^(\S+)(?:\s+(.*))?$/.exec(text);
  return m ? [m[1], (m[2] ?? '').trim()] : [text, ''];
}
