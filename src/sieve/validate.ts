import type { Arg, Command, Test, Value } from './ast.js';
import { decodeEncodedCharacters } from './encoded.js';
import { compileRegex, RegexError } from './regex.js';
import {
  COMMANDS, COMPARATORS, DATE_PARTS, IMPLIES, RELATIONAL_OPS, TESTS, type ArgKind, type Spec,
} from './spec.js';
import type { SieveError } from './types.js';

/**
 * Checks a parsed script against the command tables (spec.ts) and RFC rules a grammar cannot
 * express: `require` first (RFC 5228 3.2), extensions required before use, known comparators,
 * relational operators, date parts, regexes that compile, elsif/else after if. Fills every
 * node's `tags` and `pos`. Errors carry line and column; validation goes on after an error so
 * a user sees several at once, up to maxErrors.
 */
export function validate(commands: Command[], available: ReadonlySet<string>, maxErrors: number): {
  requires: string[];
  errors: SieveError[];
} {
  const v = new Validator(available, maxErrors);
  v.block(commands, true);
  return { requires: [...v.required], errors: v.errors };
}

class TooMany extends Error {}

class Validator {
  readonly required = new Set<string>();
  readonly errors: SieveError[] = [];

  constructor(private readonly available: ReadonlySet<string>, private readonly maxErrors: number) {}

  error(node: { line: number; column: number }, message: string): void {
    this.errors.push({ line: node.line, column: node.column, message });
    if (this.errors.length >= this.maxErrors) throw new TooMany();
  }

  block(cmds: Command[], top: boolean): void {
    try {
      this.commands(cmds, top);
    } catch (e) {
      if (!(e instanceof TooMany)) throw e;
    }
  }

  private commands(cmds: Command[], top: boolean): void {
    let prev = '';
    let requiresAllowed = top;
    for (const c of cmds) {
      if (c.name === 'require') {
        if (!requiresAllowed) this.error(c, 'require: must come before any other command (RFC 5228 3.2)');
        this.command(c);
        this.require(c);
      } else {
        requiresAllowed = false;
        if ((c.name === 'elsif' || c.name === 'else') && prev !== 'if' && prev !== 'elsif') {
          this.error(c, `${c.name}: must follow if or elsif`);
        }
        this.command(c);
      }
      prev = c.name;
      if (c.block !== null) this.commands(c.block, false);
    }
  }

  private require(c: Command): void {
    const names = c.pos[0];
    if (!Array.isArray(names)) return;
    for (const raw of names) {
      const name = raw.toLowerCase();
      if (!this.available.has(name)) {
        this.error(c, `require: unknown Sieve extension "${raw}"`);
        continue;
      }
      this.required.add(name);
      for (const implied of IMPLIES[name] ?? []) this.required.add(implied);
    }
  }

  private command(c: Command): void {
    const spec = COMMANDS[c.name];
    if (spec === undefined) return this.error(c, `unknown command "${c.name}"`);
    if (!this.has(c, spec, 'command')) return;
    this.args(c, spec, 'command');
    if (spec.block === true && c.block === null) this.error(c, `${c.name}: expected a block "{ ... }"`);
    if (spec.block !== true && c.block !== null) this.error(c, `${c.name}: takes no block`);
    this.testArgs(c, spec);
    this.commandRules(c);
  }

  private test(t: Test): void {
    const spec = TESTS[t.name];
    if (spec === undefined) return this.error(t, `unknown test "${t.name}"`);
    if (!this.has(t, spec, 'test')) return;
    this.args(t, spec, 'test');
    this.testArgs(t, spec);
    this.testRules(t);
  }

  private has(node: Test, spec: Spec, what: string): boolean {
    if (spec.ext === undefined || this.required.has(spec.ext)) return true;
    this.error(node, `${what} "${node.name}" needs require "${spec.ext}"`);
    return false;
  }

  private testArgs(node: Test, spec: Spec): void {
    const n = node.tests.length;
    if (spec.tests === 'none' && n > 0) this.error(node.tests[0], `${node.name}: takes no test`);
    if (spec.tests === 'one' && n !== 1) this.error(node, `${node.name}: expects exactly one test`);
    if (spec.tests === 'list' && n === 0) this.error(node, `${node.name}: expects a test list`);
    for (const t of node.tests) this.test(t);
  }

  /** Tags (each once, one per group, with their argument) then positional arguments. */
  private args(node: Test, spec: Spec, what: string): void {
    const groups = new Map<string, string>();
    const pos: Arg[] = [];
    for (let i = 0; i < node.args.length; i++) {
      const a = node.args[i];
      if (a.kind !== 'tag') {
        pos.push(a);
        continue;
      }
      if (pos.length > 0) return this.error(a, `${node.name}: tag :${a.name} after positional arguments`);
      const ts = spec.tags[a.name];
      if (ts === undefined) return this.error(a, `${node.name}: unknown tag :${a.name}`);
      if (ts.ext !== undefined && !this.required.has(ts.ext)) {
        return this.error(a, `${node.name}: tag :${a.name} needs require "${ts.ext}"`);
      }
      if (a.name in node.tags) return this.error(a, `${node.name}: tag :${a.name} given twice`);
      if (ts.group !== undefined) {
        const other = groups.get(ts.group);
        if (other !== undefined) return this.error(a, `${node.name}: :${a.name} and :${other} exclude each other`);
        groups.set(ts.group, a.name);
      }
      if (ts.arg === undefined) {
        node.tags[a.name] = true;
        continue;
      }
      const next = node.args[i + 1];
      const val = next === undefined ? undefined : this.value(next, ts.arg);
      if (val === undefined) return this.error(a, `${node.name}: tag :${a.name} expects ${kindName(ts.arg)}`);
      node.tags[a.name] = val;
      i++;
    }
    this.positional(node, spec, pos, what);
  }

  private positional(node: Test, spec: Spec, pos: Arg[], what: string): void {
    let kinds = spec.pos;
    if (spec.optional !== undefined && pos.length === kinds.length - 1) {
      kinds = spec.optional === 'first' ? kinds.slice(1) : kinds.slice(0, -1);
      if (spec.optional === 'first') node.pos.push([]);
    }
    if (pos.length !== kinds.length) {
      return this.error(node, `${what} ${node.name}: expects ${kinds.length} argument(s), got ${pos.length}`);
    }
    for (let i = 0; i < kinds.length; i++) {
      const val = this.value(pos[i], kinds[i]);
      if (val === undefined) return this.error(pos[i], `${node.name}: argument ${i + 1} must be ${kindName(kinds[i])}`);
      node.pos.push(val);
    }
  }

  private value(a: Arg, kind: ArgKind): Value | undefined {
    if (kind === 'num') return a.kind === 'num' ? a.value : undefined;
    if (a.kind !== 'strlist') return undefined;
    if (kind === 'string' && !a.single) return undefined;
    if (!this.required.has('encoded-character')) return a.values;
    try {
      return a.values.map(decodeEncodedCharacters);
    } catch (e) {
      this.error(a, `encoded-character: ${(e as Error).message}`);
      return a.values;
    }
  }

  private commandRules(c: Command): void {
    this.matchRules(c);
    if (c.name === 'set') {
      const name = str(c.pos[0]);
      if (name !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name)) {
        this.error(c, `set: invalid variable name "${name}"`);
      }
    }
    if (c.name === 'vacation') this.vacationRules(c);
    if (c.name === 'redirect') {
      const to = str(c.pos[0]);
      if (to !== undefined && !to.includes('${') && !isRedirectAddress(to)) this.error(c, `redirect: invalid address "${to.slice(0, 200)}"`);
    }
    if (c.name === 'include') {
      const name = str(c.pos[0]);
      if (name !== undefined && (name === '' || /[/\0]/.test(name) || name.startsWith('.'))) {
        this.error(c, `include: invalid script name "${name}"`);
      }
    }
    if (c.name === 'addheader' || c.name === 'deleteheader') this.headerNameRule(c, str(c.pos[0]));
    if (c.name === 'deleteheader' && c.tags.last === true && c.tags.index === undefined) {
      this.error(c, 'deleteheader: :last needs :index');
    }
    if (c.name === 'deleteheader' && c.tags.index === 0) this.error(c, 'deleteheader: :index must be 1 or more');
  }

  private vacationRules(c: Command): void {
    const from = str(c.tags.from as Value | undefined);
    if (from !== undefined && !from.includes('${') && !/@/.test(from)) {
      this.error(c, `vacation: :from "${from}" is not an address`);
    }
  }

  private headerNameRule(c: Command, name: string | undefined): void {
    if (name === undefined || name.includes('${')) return;
    // RFC 5322 2.2 field-name: printable US-ASCII except colon
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) this.error(c, `${c.name}: invalid header field name "${name}"`);
  }

  private testRules(t: Test): void {
    this.matchRules(t);
    if ((t.tags.last === true) && t.tags.index === undefined && t.name !== 'duplicate') {
      this.error(t, `${t.name}: :last needs :index`);
    }
    if (t.tags.index === 0) this.error(t, `${t.name}: :index must be 1 or more`);
    if (t.name === 'date' || t.name === 'currentdate') this.dateRules(t);
    if (t.name === 'header' || t.name === 'address' || t.name === 'exists') {
      for (const h of (t.pos[0] as string[] | undefined) ?? []) {
        if (!h.includes('${') && !/^[\x21-\x39\x3b-\x7e]+$/.test(h)) this.error(t, `${t.name}: invalid header name "${h}"`);
      }
    }
    if (t.name === 'envelope') {
      for (const p of (t.pos[0] as string[] | undefined) ?? []) {
        if (!p.includes('${') && !['from', 'to', 'auth'].includes(p.toLowerCase())) {
          this.error(t, `envelope: unknown envelope part "${p}"`);
        }
      }
    }
    if (t.name === 'size' && t.tags.over === undefined && t.tags.under === undefined) {
      this.error(t, 'size: expects :over or :under');
    }
  }

  private dateRules(t: Test): void {
    const part = str(t.pos[t.name === 'date' ? 1 : 0]);
    if (part !== undefined && !part.includes('${') && !DATE_PARTS.has(part.toLowerCase())) {
      this.error(t, `${t.name}: unknown date part "${part}"`);
    }
    const zone = str(t.tags.zone as Value | undefined);
    if (zone !== undefined && !zone.includes('${') && !/^[+-]\d{4}$/.test(zone)) {
      this.error(t, `${t.name}: :zone "${zone}" is not +hhmm or -hhmm`);
    }
  }

  /** Comparator known and required; relational operator valid; constant regexes compile. */
  private matchRules(node: Test): void {
    const cmp = str(node.tags.comparator as Value | undefined);
    if (cmp !== undefined) {
      const need = COMPARATORS[cmp.toLowerCase()];
      if (need === undefined) this.error(node, `${node.name}: unknown comparator "${cmp}"`);
      else if (need !== null && !this.required.has(need)) this.error(node, `${node.name}: comparator "${cmp}" needs require "${need}"`);
      else if (cmp.toLowerCase() === 'i;ascii-numeric' && (node.tags.contains || node.tags.matches || node.tags.regex)) {
        this.error(node, `${node.name}: comparator "${cmp}" supports only :is, :value and :count`);
      }
    }
    for (const rel of ['value', 'count']) {
      const op = str(node.tags[rel] as Value | undefined);
      if (op !== undefined && !RELATIONAL_OPS.has(op.toLowerCase())) {
        this.error(node, `${node.name}: :${rel} "${op}" is not one of gt ge lt le eq ne`);
      }
    }
    if (node.tags.regex === true) this.regexRules(node);
  }

  private regexRules(node: Test): void {
    const keys = node.name === 'deleteheader' ? node.pos[1] : node.pos[node.pos.length - 1];
    if (!Array.isArray(keys)) return;
    for (const k of keys) {
      if (this.required.has('variables') && k.includes('${')) continue;
      try {
        compileRegex(k, false);
      } catch (e) {
        if (e instanceof RegexError) this.error(node, `${node.name}: bad regex "${k}": ${e.message}`);
        else throw e;
      }
    }
  }
}

/** RFC 5228 4.2: an RFC 5322 addr-spec, optionally in angle brackets with a display name. */
export function isRedirectAddress(s: string): boolean {
  let a = s.trim();
  const angle = /^[^<>]*<([^<>]*)>\s*$/.exec(a);
  if (angle !== null) a = angle[1];
  return /^[^\s@<>(),;:"\\[\]]+@[A-Za-z0-9.-]+$/.test(a) || /^"[^"\\\r\n]*"@[A-Za-z0-9.-]+$/.test(a);
}

function str(v: Value | undefined): string | undefined {
  return Array.isArray(v) && v.length === 1 ? v[0] : undefined;
}

function kindName(k: ArgKind): string {
  return k === 'num' ? 'a number' : k === 'string' ? 'a string' : 'a string list';
}
