import type { Test } from './ast.js';
import { compileRegex, regexSearch, RegexError, type Regex } from './regex.js';

/**
 * Comparators (RFC 4790: i;octet, i;ascii-casemap; RFC 2244 i;ascii-numeric) and match types
 * (RFC 5228 2.7.1 :is/:contains/:matches, RFC 5231 :value/:count, the regex draft's :regex).
 * Every comparison is charged to the run's Budget, so no key or value can make a run long.
 */

export class RunError extends Error {
  constructor(message: string, readonly limit = false) {
    super(message);
  }
}

/** Steps and wall-clock time of one run. */
export class Budget {
  private steps = 0;
  private readonly deadline: number;
  constructor(private readonly maxSteps: number, maxMillis: number) {
    this.deadline = Date.now() + maxMillis;
  }

  charge(n: number): void {
    const before = this.steps;
    this.steps += n;
    if (this.steps > this.maxSteps) throw new RunError(`step limit reached (${this.maxSteps} steps)`, true);
    if ((before >>> 12) !== (this.steps >>> 12) && Date.now() > this.deadline) {
      throw new RunError('time limit reached', true);
    }
  }

  checkTime(): void {
    if (Date.now() > this.deadline) throw new RunError('time limit reached', true);
  }

  get used(): number {
    return this.steps;
  }
}

export type MatchType = 'is' | 'contains' | 'matches' | 'regex' | 'value' | 'count';

export interface MatchSpec {
  type: MatchType;
  rel: string;
  comparator: string;
}

export function matchSpec(node: Test): MatchSpec {
  const cmp = node.tags.comparator;
  const comparator = Array.isArray(cmp) ? cmp[0].toLowerCase() : 'i;ascii-casemap';
  for (const t of ['contains', 'matches', 'regex'] as const) if (node.tags[t] === true) return { type: t, rel: '', comparator };
  for (const t of ['value', 'count'] as const) {
    const v = node.tags[t];
    if (Array.isArray(v)) return { type: t, rel: v[0].toLowerCase(), comparator };
  }
  return { type: 'is', rel: '', comparator };
}

function foldAscii(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** i;ascii-numeric: the leading digits as a number; no digits is "positive infinity". */
function numericKey(s: string): string | null {
  const m = /^[0-9]+/.exec(s);
  if (m === null) return null;
  return m[0].replace(/^0+(?=.)/, '');
}

/** -1, 0, 1 under the comparator's ordering. */
export function compare(a: string, b: string, comparator: string): number {
  if (comparator === 'i;ascii-numeric') {
    const x = numericKey(a), y = numericKey(b);
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    if (x.length !== y.length) return x.length < y.length ? -1 : 1;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (comparator === 'i;ascii-casemap') {
    a = foldAscii(a);
    b = foldAscii(b);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function relation(c: number, rel: string): boolean {
  switch (rel) {
    case 'gt': return c > 0;
    case 'ge': return c >= 0;
    case 'lt': return c < 0;
    case 'le': return c <= 0;
    case 'eq': return c === 0;
    default: return c !== 0;
  }
}

export class Matcher {
  private readonly regexCache = new Map<string, Regex>();
  constructor(private readonly budget: Budget) {}

  /**
   * True when any value matches any key. For :matches and :regex, `captures` gets the match
   * variables of the first match (RFC 5229 3.2). :count counts the values (RFC 5231 4.2).
   */
  test(values: string[], keys: string[], spec: MatchSpec, captures?: (c: string[]) => void): boolean {
    if (spec.type === 'count') {
      const n = String(values.length);
      return keys.some((k) => {
        this.budget.charge(1);
        return relation(compare(n, k, spec.comparator), spec.rel);
      });
    }
    for (const v of values) {
      for (const k of keys) {
        this.budget.charge(1 + ((v.length + k.length) >> 6));
        const caps = this.one(v, k, spec);
        if (caps === null) continue;
        if (captures !== undefined && (spec.type === 'matches' || spec.type === 'regex')) captures(caps);
        return true;
      }
    }
    return false;
  }

  private one(v: string, k: string, spec: MatchSpec): string[] | null {
    const cmp = spec.comparator;
    switch (spec.type) {
      case 'is': return compare(v, k, cmp) === 0 ? [] : null;
      case 'contains':
        if (cmp === 'i;ascii-casemap') return foldAscii(v).includes(foldAscii(k)) ? [] : null;
        return v.includes(k) ? [] : null;
      case 'value': return relation(compare(v, k, cmp), spec.rel) ? [] : null;
      case 'matches': return this.wildcard(v, k, cmp === 'i;ascii-casemap');
      case 'regex': return this.regex(v, k, cmp === 'i;ascii-casemap');
      default: return null;
    }
  }

  private regex(v: string, k: string, icase: boolean): string[] | null {
    const key = (icase ? 'i' : 'o') + k;
    let re = this.regexCache.get(key);
    if (re === undefined) {
      try {
        re = compileRegex(k, icase);
      } catch (e) {
        if (e instanceof RegexError) throw new RunError(`bad regex "${k}": ${e.message}`);
        throw e;
      }
      this.regexCache.set(key, re);
    }
    return regexSearch(re, v, (n) => this.budget.charge(n));
  }

  /**
   * RFC 5228 2.7.1 :matches: "*" any sequence, "?" one character, "\" quotes the next one.
   * Linear backtracking to the last "*" only (the classic glob algorithm), so the cost is at
   * most |value| x |pattern| steps, charged as it goes. Returns the wildcard captures, with
   * ${0} the whole value (RFC 5229 3.2).
   */
  private wildcard(text: string, pattern: string, icase: boolean): string[] | null {
    const pat = globTokens(icase ? foldAscii(pattern) : pattern);
    const t = icase ? foldAscii(text) : text;
    const nw = pat.filter((x) => x === STAR || x === ANY).length;
    const start = new Array<number>(nw).fill(0), end = new Array<number>(nw).fill(0);
    let p = 0, i = 0, w = 0, starP = -1, starI = 0, starW = 0, steps = 0;
    while (i < t.length || p < pat.length) {
      if (++steps === 1024) { this.budget.charge(steps); steps = 0; }
      const tok = p < pat.length ? pat[p] : undefined;
      if (tok === STAR) {
        starP = p; starI = i; starW = w;
        start[w] = i; end[w] = i;
        p++; w++;
        continue;
      }
      if (i < t.length && tok !== undefined && (tok === ANY || tok === t[i])) {
        if (tok === ANY) { start[w] = i; end[w] = i + 1; w++; }
        p++; i++;
        continue;
      }
      if (starP < 0 || starI >= t.length) return null;
      starI++;
      end[starW] = starI;
      i = starI; p = starP + 1; w = starW + 1;
    }
    this.budget.charge(steps);
    const caps = [text];
    for (let k = 0; k < nw; k++) caps.push(text.slice(start[k], end[k]));
    return caps;
  }
}

const STAR = '\u0000*', ANY = '\u0000?';

/** Pattern tokens: STAR, ANY or a single literal character. */
function globTokens(p: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\' && i + 1 < p.length) out.push(p[++i]);
    else if (c === '*') out.push(STAR);
    else if (c === '?') out.push(ANY);
    else out.push(c);
  }
  return out;
}
