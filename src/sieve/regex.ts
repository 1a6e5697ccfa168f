/**
 * The regex extension (draft-ietf-sieve-regex-01: POSIX extended regular expressions) with a
 * matcher that cannot backtrack: the pattern is compiled to an NFA program and run as a Pike
 * VM (Thompson simulation with submatch tracking), so the work is at most (input length + 1)
 * x (program size) steps, and every step is charged to the caller's budget. Backreferences
 * are not part of ERE and are refused. Repetition counts are bounded (RE_DUP_MAX, 255), and so
 * is the program size.
 */

export class RegexError extends Error {}

const OP_CHAR = 0, OP_ANY = 1, OP_SPLIT = 2, OP_JMP = 3, OP_SAVE = 4, OP_MATCH = 5, OP_BOL = 6, OP_EOL = 7;
const MAX_REPEAT = 255;
const MAX_PROGRAM = 20000;

type Node =
  | { t: 'set'; test: (c: number) => boolean }
  | { t: 'any' }
  | { t: 'bol' } | { t: 'eol' }
  | { t: 'cat'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  | { t: 'group'; n: number; item: Node }
  | { t: 'rep'; item: Node; min: number; max: number };

export interface Regex {
  ops: Int32Array;
  a: Int32Array;
  b: Int32Array;
  sets: ((c: number) => boolean)[];
  groups: number;
}

const CLASSES: Record<string, (c: number) => boolean> = {
  alpha: (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  digit: (c) => c >= 48 && c <= 57,
  alnum: (c) => CLASSES.alpha(c) || CLASSES.digit(c),
  upper: (c) => c >= 65 && c <= 90,
  lower: (c) => c >= 97 && c <= 122,
  space: (c) => c === 32 || (c >= 9 && c <= 13),
  blank: (c) => c === 32 || c === 9,
  punct: (c) => (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126),
  print: (c) => c >= 32 && c <= 126,
  graph: (c) => c >= 33 && c <= 126,
  cntrl: (c) => c < 32 || c === 127,
  xdigit: (c) => CLASSES.digit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102),
};

function fold(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

class ReParser {
  private i = 0;
  groups = 0;
  constructor(private readonly s: string, private readonly icase: boolean) {}

  parse(): Node {
    const n = this.alt();
    if (this.i < this.s.length) throw new RegexError(`unmatched ")" at ${this.i + 1}`);
    return n;
  }

  private alt(): Node {
    const items = [this.cat()];
    while (this.s[this.i] === '|') {
      this.i++;
      items.push(this.cat());
    }
    return items.length === 1 ? items[0] : { t: 'alt', items };
  }

  private cat(): Node {
    const items: Node[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') {
      items.push(this.quantified(this.atom()));
    }
    return { t: 'cat', items };
  }

  private quantified(atom: Node): Node {
    for (;;) {
      const c = this.s[this.i];
      if (c === '*') { this.i++; atom = { t: 'rep', item: atom, min: 0, max: -1 }; }
      else if (c === '+') { this.i++; atom = { t: 'rep', item: atom, min: 1, max: -1 }; }
      else if (c === '?') { this.i++; atom = { t: 'rep', item: atom, min: 0, max: 1 }; }
      else if (c === '{' && /^\{\d+(,\d*)?\}/.test(this.s.slice(this.i, this.i + 12))) {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.i))!;
        this.i += m[0].length;
        const min = Number(m[1]);
        const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
        if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) throw new RegexError(`bad repetition ${m[0]}`);
        atom = { t: 'rep', item: atom, min, max };
      } else return atom;
    }
  }

  private atom(): Node {
    const s = this.s;
    const c = s[this.i++];
    if (c === '(') {
      const n = ++this.groups;
      const item = this.alt();
      if (s[this.i] !== ')') throw new RegexError('unmatched "("');
      this.i++;
      return { t: 'group', n, item };
    }
    if (c === '.') return { t: 'any' };
    if (c === '^') return { t: 'bol' };
    if (c === '$') return { t: 'eol' };
    if (c === '[') return this.bracket();
    if (c === '*' || c === '+' || c === '?') throw new RegexError(`"${c}" with nothing to repeat`);
    if (c === '\\') {
      if (this.i >= s.length) throw new RegexError('trailing backslash');
      const e = s[this.i++];
      if (e >= '1' && e <= '9') throw new RegexError('backreferences are not part of POSIX ERE');
      return this.literal(e.charCodeAt(0));
    }
    return this.literal(c.charCodeAt(0));
  }

  private literal(code: number): Node {
    if (!this.icase) return { t: 'set', test: (x) => x === code };
    const f = fold(code);
    return { t: 'set', test: (x) => fold(x) === f };
  }

  private bracket(): Node {
    const s = this.s;
    let neg = false;
    if (s[this.i] === '^') { neg = true; this.i++; }
    const tests: ((c: number) => boolean)[] = [];
    let first = true;
    for (;;) {
      if (this.i >= s.length) throw new RegexError('unmatched "["');
      const c = s[this.i];
      if (c === ']' && !first) { this.i++; break; }
      first = false;
      if (c === '[' && s[this.i + 1] === ':') {
        const e = s.indexOf(':]', this.i + 2);
        const cls = e < 0 ? undefined : CLASSES[s.slice(this.i + 2, e)];
        if (cls === undefined) throw new RegexError('unknown character class');
        tests.push(cls);
        this.i = e + 2;
        continue;
      }
      this.i++;
      if (s[this.i] === '-' && s[this.i + 1] !== undefined && s[this.i + 1] !== ']') {
        const lo = c.charCodeAt(0), hi = s.charCodeAt(this.i + 1);
        if (hi < lo) throw new RegexError('bad range in "[...]"');
        this.i += 2;
        tests.push((x) => x >= lo && x <= hi);
      } else {
        const code = c.charCodeAt(0);
        tests.push((x) => x === code);
      }
    }
    const icase = this.icase;
    const inSet = (x: number): boolean => tests.some((t) => t(x))
      || (icase && (tests.some((t) => t(fold(x))) || tests.some((t) => t(x >= 97 && x <= 122 ? x - 32 : x))));
    return { t: 'set', test: neg ? (x) => !inSet(x) : inSet };
  }
}

class Compiler {
  ops: number[] = [];
  a: number[] = [];
  b: number[] = [];
  sets: ((c: number) => boolean)[] = [];

  emit(op: number, a = 0, b = 0): number {
    if (this.ops.length >= MAX_PROGRAM) throw new RegexError('regex too large');
    this.ops.push(op);
    this.a.push(a);
    this.b.push(b);
    return this.ops.length - 1;
  }

  node(n: Node): void {
    switch (n.t) {
      case 'set': this.sets.push(n.test); this.emit(OP_CHAR, this.sets.length - 1); return;
      case 'any': this.emit(OP_ANY); return;
      case 'bol': this.emit(OP_BOL); return;
      case 'eol': this.emit(OP_EOL); return;
      case 'cat': for (const x of n.items) this.node(x); return;
      case 'group':
        this.emit(OP_SAVE, 2 * n.n);
        this.node(n.item);
        this.emit(OP_SAVE, 2 * n.n + 1);
        return;
      case 'alt': return this.alt(n.items);
      case 'rep': return this.rep(n.item, n.min, n.max);
    }
  }

  private alt(items: Node[]): void {
    const jumps: number[] = [];
    for (let k = 0; k < items.length - 1; k++) {
      const split = this.emit(OP_SPLIT);
      this.a[split] = split + 1;
      this.node(items[k]);
      jumps.push(this.emit(OP_JMP));
      this.b[split] = this.ops.length;
    }
    this.node(items[items.length - 1]);
    for (const j of jumps) this.a[j] = this.ops.length;
  }

  private rep(item: Node, min: number, max: number): void {
    for (let k = 0; k < min; k++) this.node(item);
    if (max < 0) {
      const split = this.emit(OP_SPLIT);
      this.a[split] = split + 1;
      this.node(item);
      this.emit(OP_JMP, split);
      this.b[split] = this.ops.length;
      return;
    }
    const splits: number[] = [];
    for (let k = min; k < max; k++) {
      const split = this.emit(OP_SPLIT);
      this.a[split] = split + 1;
      splits.push(split);
      this.node(item);
    }
    for (const s of splits) this.b[s] = this.ops.length;
  }
}

/** Compiles a POSIX ERE; throws RegexError on a bad or oversized pattern. */
export function compileRegex(pattern: string, icase: boolean): Regex {
  const p = new ReParser(pattern, icase);
  const tree = p.parse();
  const c = new Compiler();
  c.emit(OP_SAVE, 0);
  c.node(tree);
  c.emit(OP_SAVE, 1);
  c.emit(OP_MATCH);
  return { ops: Int32Array.from(c.ops), a: Int32Array.from(c.a), b: Int32Array.from(c.b), sets: c.sets, groups: p.groups };
}

/**
 * Searches `text` for the leftmost match (leftmost-first among alternatives). Returns the
 * capture strings (index 0 the whole match; unset groups '') or null. `charge(n)` is called
 * with the steps spent; it throws to abandon the match when the budget is gone.
 */
export function regexSearch(re: Regex, text: string, charge: (steps: number) => void): string[] | null {
  const n = re.ops.length;
  const slots = 2 * (re.groups + 1);
  let clist: { pc: number; caps: Int32Array }[] = [];
  let nlist: { pc: number; caps: Int32Array }[] = [];
  const mark = new Int32Array(n).fill(-1);
  let matched: Int32Array | null = null;
  const init = new Int32Array(slots).fill(-1);
  for (let pos = 0; pos <= text.length; pos++) {
    if (matched === null) addThread(re, clist, mark, pos, 0, init, pos, text);
    if (clist.length === 0) {
      if (matched !== null) break;
      continue;
    }
    charge(clist.length);
    const c = pos < text.length ? text.charCodeAt(pos) : -1;
    for (const th of clist) {
      const op = re.ops[th.pc];
      if (op === OP_MATCH) {
        matched = th.caps;
        break; // lower-priority threads are cut off
      }
      if (c < 0) continue;
      if (op === OP_ANY || (op === OP_CHAR && re.sets[re.a[th.pc]](c))) {
        addThread(re, nlist, mark, pos + 1, th.pc + 1, th.caps, pos + 1, text);
      }
    }
    [clist, nlist] = [nlist, []];
  }
  if (matched === null) return null;
  const out: string[] = [];
  for (let g = 0; g <= re.groups; g++) {
    const s = matched[2 * g], e = matched[2 * g + 1];
    out.push(s >= 0 && e >= 0 ? text.slice(s, e) : '');
  }
  return out;
}

/** Epsilon closure from pc, in priority order, with an explicit stack. */
function addThread(
  re: Regex, list: { pc: number; caps: Int32Array }[], mark: Int32Array, gen: number,
  pc0: number, caps0: Int32Array, pos: number, text: string,
): void {
  const stack: { pc: number; caps: Int32Array }[] = [{ pc: pc0, caps: caps0 }];
  while (stack.length > 0) {
    const { pc, caps } = stack.pop()!;
    if (mark[pc] === gen) continue;
    mark[pc] = gen;
    const op = re.ops[pc];
    if (op === OP_JMP) stack.push({ pc: re.a[pc], caps });
    else if (op === OP_SPLIT) {
      stack.push({ pc: re.b[pc], caps });
      stack.push({ pc: re.a[pc], caps });
    } else if (op === OP_SAVE) {
      const c2 = caps.slice();
      c2[re.a[pc]] = pos;
      stack.push({ pc: pc + 1, caps: c2 });
    } else if (op === OP_BOL) {
      if (pos === 0) stack.push({ pc: pc + 1, caps });
    } else if (op === OP_EOL) {
      if (pos === text.length) stack.push({ pc: pc + 1, caps });
    } else list.push({ pc, caps });
  }
}
