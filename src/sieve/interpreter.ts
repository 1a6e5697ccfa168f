import type { Command, ScriptTree, Value } from './ast.js';
import { ActionList } from './actions.js';
import { executeCommand } from './commands.js';
import { Budget, Matcher, RunError } from './match.js';
import { MessageView } from './message.js';
import { evaluateTest } from './tests.js';
import type {
  Flags, IncludeLocation, LogEntry, ParseResult, RunInput, RunLimits, RunResult, Script,
} from './types.js';

/** `stop` (RFC 5228 3.3) ends the whole run; `return` (RFC 6609 3.3) one included script. */
export class Stop {}
export class Return {}

/** One executing script: its variables (RFC 5229: per script, except `global` ones, RFC 6609 3.4). */
export interface Frame {
  name: string;
  location: IncludeLocation;
  vars: Map<string, string>;
  globals: Set<string>;
  variables: boolean;
}

const VAR_REF = /\$\{([A-Za-z0-9_.]*)\}/g;

/** The state of one run; commands.ts and tests.ts act on it. */
export class Runtime {
  readonly budget: Budget;
  readonly matcher: Matcher;
  readonly view: MessageView;
  readonly actions: ActionList;
  readonly log: LogEntry[] = [];
  readonly duplicates: RunResult['duplicates'] = [];
  readonly globalVars = new Map<string, string>();
  matchVars: string[] = [];
  /** imap4flags' internal variable (RFC 5232 3). */
  flags: Flags = [];
  frame: Frame = { name: '', location: 'personal', vars: new Map(), globals: new Set(), variables: false };
  line = 0;
  readonly includeStack: string[] = [];
  readonly included = new Set<string>();

  constructor(
    readonly input: RunInput,
    readonly limits: RunLimits,
    readonly parse: (text: string) => ParseResult,
  ) {
    this.budget = new Budget(limits.maxSteps, limits.maxMillis);
    this.matcher = new Matcher(this.budget);
    this.view = new MessageView(input.message);
    this.actions = new ActionList(limits);
  }

  fail(message: string): never {
    throw new RunError(message);
  }

  note(message: string): void {
    this.log.push({ line: this.line, script: this.frame.name, message });
  }

  /** The message bytes for an action, when editheader changed them. */
  editedMessage(): Buffer | undefined {
    return this.view.edited ? this.view.bytes() : undefined;
  }

  // ---- strings and variables (RFC 5229 3) ----

  str(v: Value | undefined): string {
    return Array.isArray(v) ? this.expand(v[0] ?? '') : '';
  }

  list(v: Value | undefined): string[] {
    return Array.isArray(v) ? v.map((s) => this.expand(s)) : [];
  }

  num(v: Value | undefined): number | undefined {
    return typeof v === 'number' ? v : undefined;
  }

  expand(s: string): string {
    if (!this.frame.variables || !s.includes('${')) return s;
    this.budget.charge(1 + (s.length >> 6));
    const out = s.replace(VAR_REF, (all, name: string) => {
      const v = this.getVar(name);
      return v === undefined ? all : v;
    });
    return out.length > this.limits.maxVariableSize * 4 ? out.slice(0, this.limits.maxVariableSize * 4) : out;
  }

  /** A reference's value; undefined when the name is not a valid reference (kept as written). */
  getVar(name: string): string | undefined {
    if (/^[0-9]+$/.test(name)) return this.matchVars[Number(name)] ?? '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name)) return undefined;
    const key = name.toLowerCase();
    if (key.startsWith('global.')) return this.globalVars.get(key.slice(7)) ?? '';
    if (key.includes('.')) return '';
    if (this.frame.globals.has(key)) return this.globalVars.get(key) ?? '';
    return this.frame.vars.get(key) ?? '';
  }

  setVar(name: string, value: string): void {
    const v = value.length > this.limits.maxVariableSize ? value.slice(0, this.limits.maxVariableSize) : value;
    const key = name.toLowerCase();
    if (key.startsWith('global.')) this.globalVars.set(key.slice(7), v);
    else if (this.frame.globals.has(key)) this.globalVars.set(key, v);
    else this.frame.vars.set(key, v);
  }

  setMatchVars(caps: string[]): void {
    if (this.frame.variables) this.matchVars = caps.slice(0, 10);
  }

  // ---- control flow ----

  async block(cmds: readonly Command[]): Promise<void> {
    let i = 0;
    while (i < cmds.length) {
      const c = cmds[i];
      this.line = c.line;
      this.budget.charge(1);
      if (c.name !== 'if') {
        await executeCommand(this, c);
        i++;
        continue;
      }
      let done = false;
      let j = i;
      for (; j < cmds.length && (j === i || cmds[j].name === 'elsif' || cmds[j].name === 'else'); j++) {
        const cj = cmds[j];
        this.line = cj.line;
        if (!done && (cj.name === 'else' || await evaluateTest(this, cj.tests[0]))) {
          done = true;
          await this.block(cj.block ?? []);
        }
        if (cj.name === 'else') {
          j++;
          break;
        }
      }
      i = j;
    }
  }

  /** Runs a script in a fresh frame (the main script, or an include). */
  async runTree(tree: ScriptTree, name: string, location: IncludeLocation): Promise<void> {
    const saved = this.frame;
    this.frame = {
      name, location, vars: new Map(), globals: new Set(), variables: tree.requires.includes('variables'),
    };
    try {
      await this.block(tree.commands);
    } catch (e) {
      if (!(e instanceof Return)) throw e;
    } finally {
      this.frame = saved;
    }
  }

  /** RFC 6609 3.2 include: once, optional, loops refused, depth bounded. */
  async include(name: string, location: IncludeLocation, once: boolean, optional: boolean): Promise<void> {
    const key = `${location}:${name}`;
    if (this.includeStack.includes(key)) {
      this.fail(`include: loop: "${name}" includes itself (RFC 6609 3.2)`);
    }
    if (once && this.included.has(key)) return;
    if (this.includeStack.length > this.limits.maxIncludeDepth) {
      throw new RunError(`include: nested more than ${this.limits.maxIncludeDepth} deep`, true);
    }
    const got = this.input.include === undefined ? null : await this.input.include(name, location);
    this.budget.checkTime();
    if (got === null) {
      if (optional) return;
      this.fail(`include: ${location} script "${name}" not found`);
    }
    const tree = typeof got === 'string' ? this.parsed(got, name) : (got as unknown as ScriptTree);
    this.included.add(key);
    this.includeStack.push(key);
    const line = this.line;
    try {
      await this.runTree(tree, name, location);
    } finally {
      this.includeStack.pop();
      this.line = line;
    }
  }

  private parsed(text: string, name: string): ScriptTree {
    const r = this.parse(text);
    if (r.errors !== undefined) {
      const e = r.errors[0];
      this.fail(`include: script "${name}" line ${e.line}: ${e.message}`);
    }
    return r.script as unknown as ScriptTree;
  }
}

/** Runs the main script; errors and limits become implicit keep with the reason (RFC 5228 2.10.6). */
export async function run(tree: ScriptTree, input: RunInput, limits: RunLimits, parse: (t: string) => ParseResult): Promise<RunResult> {
  let rt: Runtime;
  try {
    rt = new Runtime(input, limits, parse);
  } catch (e) {
    return fallback([], { line: 0, script: '', message: `cannot read the message: ${(e as Error).message}` });
  }
  const name = input.scriptName ?? '';
  if (name !== '') rt.includeStack.push(`personal:${name}`);
  try {
    await rt.runTree(tree, name, 'personal');
  } catch (e) {
    if (!(e instanceof Stop) && !(e instanceof Return)) {
      const message = e instanceof RunError ? e.message : `internal error: ${(e as Error).message ?? String(e)}`;
      return fallback(rt.log, { line: rt.line, script: rt.frame.name, message });
    }
  }
  let actions;
  try {
    actions = rt.actions.finish(rt.flags, rt.editedMessage());
  } catch (e) {
    return fallback(rt.log, { line: rt.line, script: '', message: (e as Error).message });
  }
  return { actions, duplicates: rt.duplicates, log: rt.log };
}

function fallback(log: LogEntry[], error: LogEntry): RunResult {
  return {
    actions: [{ type: 'keep', flags: [], implicit: true }],
    duplicates: [],
    log: [...log, error],
    error,
  };
}

export type { Script };
