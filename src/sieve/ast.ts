/**
 * The syntax tree of RFC 5228 8.2, as the parser builds it; the validator (validate.ts) then
 * fills `tags` and `pos` of every node from the command tables, so the interpreter reads
 * arguments by name.
 */

export type Arg =
  | { kind: 'tag'; name: string; line: number; column: number }
  | { kind: 'num'; value: number; line: number; column: number }
  | { kind: 'strlist'; values: string[]; single: boolean; line: number; column: number };

/** An argument value after validation: a tag's own argument or a positional one. */
export type Value = number | string[] | true;

export interface Test {
  name: string;
  args: Arg[];
  tests: Test[];
  line: number;
  column: number;
  /** Tagged arguments by name (without ':'), filled by the validator. */
  tags: Record<string, Value>;
  /** Positional arguments in order, filled by the validator. */
  pos: Value[];
}

export interface Command extends Test {
  /** The block of if/elsif/else, or null. */
  block: Command[] | null;
}

export interface ScriptTree {
  kind: 'sieve-script';
  requires: string[];
  commands: Command[];
}
