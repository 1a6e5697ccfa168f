/**
 * LIST/LSUB pattern matching (RFC 9051 6.3.9): "*" matches any characters, "%" any characters
 * but the hierarchy separator. No regular expression: a pattern comes from the client, and a
 * backtracking regex let `*a*a*a*a*a*b` hold the event loop for seconds (issue 9 item 3).
 *
 * The pattern is run as a set of states over the name, one step per character of the name:
 * at most O(name x pattern) work, whatever the pattern, and no recursion.
 */

/** Runs of wildcards collapse: "**", "%*" and "*%" are "*"; "%%" is "%". */
function compact(pattern: string): string[] {
  const out: string[] = [];
  for (const ch of pattern) {
    const last = out[out.length - 1];
    if ((ch === '*' || ch === '%') && (last === '*' || last === '%')) {
      if (ch === '*') out[out.length - 1] = '*';
      continue;
    }
    out.push(ch);
  }
  return out;
}

/** A compiled pattern; `matches` may be called for many names. */
export class Wildcard {
  private readonly p: string[];
  /** Characters that are not wildcards: a name shorter than this cannot match. */
  private readonly fixed: number;

  constructor(pattern: string, private readonly sep: string) {
    this.p = compact(pattern);
    this.fixed = this.p.filter((c) => c !== '*' && c !== '%').length;
  }

  matches(name: string): boolean {
    const chars = [...name];
    if (chars.length < this.fixed) return false;
    const p = this.p;
    const m = p.length;
    // cur[i]: the first i pattern characters match the name read so far.
    let cur = new Uint8Array(m + 1);
    let next = new Uint8Array(m + 1);
    cur[0] = 1;
    this.closeOver(cur);
    for (const c of chars) {
      next.fill(0);
      let any = false;
      for (let i = 0; i < m; i++) {
        if (!cur[i]) continue;
        const t = p[i];
        if (t === '*' || (t === '%' && c !== this.sep)) next[i] = 1;
        else if (t === c) next[i + 1] = 1;
        else continue;
        any = true;
      }
      if (!any) return false;
      this.closeOver(next);
      [cur, next] = [next, cur];
    }
    return cur[m] === 1;
  }

  /** A wildcard may match nothing: being before it is also being after it. */
  private closeOver(s: Uint8Array): void {
    for (let i = 0; i < this.p.length; i++) if (s[i] && (this.p[i] === '*' || this.p[i] === '%')) s[i + 1] = 1;
  }
}
