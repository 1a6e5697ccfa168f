import type { Arg, Command, Test } from './ast.js';
import { Lexer, SieveSyntaxError, type Token } from './lexer.js';

/**
 * RFC 5228 8.2 grammar:
 *   commands = *command
 *   command  = identifier arguments (";" / block)
 *   block    = "{" commands "}"
 *   arguments = *argument [ test / test-list ]
 *   argument = string-list / number / tag
 *   test     = identifier arguments
 *   test-list = "(" test *("," test) ")"
 *   string-list = "[" string *("," string) "]" / string
 * Recursive descent bounded by maxDepth (blocks and test lists together), so 10,000 nested
 * ifs end with an error at the first level past the limit instead of exhausting the stack.
 */
export function parseCommands(text: string, maxDepth: number): Command[] {
  return new Parser(text, maxDepth).script();
}

/** Longest string list accepted; a list is built in memory, so it is bounded. */
const MAX_LIST = 10000;

class Parser {
  private readonly lex: Lexer;
  private tok: Token;

  constructor(text: string, private readonly maxDepth: number) {
    this.lex = new Lexer(text);
    this.tok = this.lex.next();
  }

  private advance(): Token {
    const t = this.tok;
    this.tok = this.lex.next();
    return t;
  }

  private fail(message: string, t: Token = this.tok): never {
    throw new SieveSyntaxError(t.line, t.column, message);
  }

  private describe(t: Token): string {
    if (t.kind === 'eof') return 'end of script';
    if (t.kind === 'str') return 'a string';
    if (t.kind === 'num') return `number ${t.value}`;
    if (t.kind === 'tag') return `tag :${t.value}`;
    return `"${t.value}"`;
  }

  private isPunct(c: string): boolean {
    return this.tok.kind === 'punct' && this.tok.value === c;
  }

  script(): Command[] {
    const cmds = this.commands(0);
    if (this.tok.kind !== 'eof') this.fail(`unexpected ${this.describe(this.tok)}`);
    return cmds;
  }

  private commands(depth: number): Command[] {
    const out: Command[] = [];
    while (this.tok.kind === 'ident') out.push(this.command(depth));
    return out;
  }

  private command(depth: number): Command {
    const id = this.advance();
    // test nesting is counted per command, apart from block nesting
    const { args, tests } = this.arguments(0);
    let block: Command[] | null = null;
    if (this.isPunct(';')) {
      this.advance();
    } else if (this.isPunct('{')) {
      if (depth + 1 > this.maxDepth) this.fail(`blocks nested more than ${this.maxDepth} deep`);
      this.advance();
      block = this.commands(depth + 1);
      if (!this.isPunct('}')) this.fail(`expected "}" or a command, found ${this.describe(this.tok)}`);
      this.advance();
    } else {
      this.fail(`expected ";" or "{" after command ${id.value}, found ${this.describe(this.tok)}`);
    }
    return { name: id.value, args, tests, block, line: id.line, column: id.column, tags: {}, pos: [] };
  }

  private arguments(depth: number): { args: Arg[]; tests: Test[] } {
    const args: Arg[] = [];
    for (;;) {
      const t = this.tok;
      if (t.kind === 'tag') {
        this.advance();
        args.push({ kind: 'tag', name: t.value, line: t.line, column: t.column });
      } else if (t.kind === 'num') {
        this.advance();
        args.push({ kind: 'num', value: t.num!, line: t.line, column: t.column });
      } else if (t.kind === 'str') {
        this.advance();
        args.push({ kind: 'strlist', values: [t.value], single: true, line: t.line, column: t.column });
      } else if (t.kind === 'punct' && t.value === '[') {
        args.push(this.stringList());
      } else {
        break;
      }
    }
    const tests: Test[] = [];
    if (this.tok.kind === 'ident') {
      tests.push(this.test(depth + 1));
    } else if (this.isPunct('(')) {
      tests.push(...this.testList(depth + 1));
    }
    return { args, tests };
  }

  private stringList(): Arg {
    const open = this.advance();
    const values: string[] = [];
    for (;;) {
      if (this.tok.kind !== 'str') this.fail(`expected a string in the list, found ${this.describe(this.tok)}`);
      values.push(this.advance().value);
      if (values.length > MAX_LIST) this.fail(`string list longer than ${MAX_LIST}`, open);
      if (this.isPunct(',')) {
        this.advance();
        continue;
      }
      if (this.isPunct(']')) break;
      this.fail(`expected "," or "]" in the string list, found ${this.describe(this.tok)}`);
    }
    this.advance();
    return { kind: 'strlist', values, single: false, line: open.line, column: open.column };
  }

  private test(depth: number): Test {
    if (depth > this.maxDepth) this.fail(`tests nested more than ${this.maxDepth} deep`);
    if (this.tok.kind !== 'ident') this.fail(`expected a test, found ${this.describe(this.tok)}`);
    const id = this.advance();
    const { args, tests } = this.arguments(depth);
    return { name: id.value, args, tests, line: id.line, column: id.column, tags: {}, pos: [] };
  }

  private testList(depth: number): Test[] {
    if (depth > this.maxDepth) this.fail(`tests nested more than ${this.maxDepth} deep`);
    this.advance();
    const tests: Test[] = [];
    for (;;) {
      tests.push(this.test(depth));
      if (this.isPunct(',')) {
        this.advance();
        continue;
      }
      if (this.isPunct(')')) break;
      this.fail(`expected "," or ")" in the test list, found ${this.describe(this.tok)}`);
    }
    this.advance();
    return tests;
  }
}
