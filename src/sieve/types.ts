/**
 * The public shapes of the Sieve engine (RFC 5228 and extensions): what a caller (delivery,
 * ManageSieve, the CLI) gives and gets. The engine has no side effects: it reads the message
 * and the callbacks it is handed and returns actions; delivery carries them out.
 */

/** A syntax or validation error; line and column count from 1 (column in characters). */
export interface SieveError {
  line: number;
  column: number;
  message: string;
}

export interface ParseOptions {
  /** Extensions a `require` may name; default: every extension in SIEVE_EXTENSIONS. */
  extensions?: readonly string[];
  /** Largest script in octets (UTF-8); default DEFAULT_PARSE_LIMITS.maxSize. */
  maxSize?: number;
  /** Deepest nesting of blocks and test lists; default DEFAULT_PARSE_LIMITS.maxDepth. */
  maxDepth?: number;
  /** Most errors reported before parsing stops; default 20. */
  maxErrors?: number;
}

/** A parsed and validated script, opaque to callers (see ast.ts); safe to cache and reuse. */
export interface Script {
  readonly kind: 'sieve-script';
  /** Extensions named by `require`, lower-cased, in order. */
  readonly requires: readonly string[];
  /** @internal the command list */
  readonly commands: readonly unknown[];
}

export type ParseResult = { script: Script; errors?: undefined } | { script?: undefined; errors: SieveError[] };

/** Where an `include` looks (RFC 6609 3.2). */
export type IncludeLocation = 'personal' | 'global';

export interface RunEnvelope {
  /** MAIL FROM (reverse-path) without angle brackets; '' for the null sender. */
  from: string;
  /** The recipient as given at RCPT TO (with its +detail, if any), without angle brackets. */
  to: string;
  /** The original recipient (ORCPT, or before alias expansion), when known. */
  origTo?: string;
  /** The authenticated submitter (RFC 5228 5.4 "auth"), when known. */
  auth?: string;
}

export interface RunInput {
  /** The main script's name (personal), for include loop detection and log lines. */
  scriptName?: string;
  /** The message as stored: header and body octets. */
  message: Buffer;
  envelope: RunEnvelope;
  /**
   * RFC 5183 environment items (`domain`, `host`, `location`, `name`, `phase`, `remote-host`,
   * `remote-ip`, `version`, ...). Missing items make the environment test false.
   */
  environment?: Readonly<Record<string, string>>;
  /** The user's own addresses (vacation's implicit :addresses, RFC 5230 4.5). */
  userAddresses?: readonly string[];
  /** The recipient address delimiter for subaddress (RFC 5233); default "+". */
  recipientDelimiter?: string;
  /** RFC 5235 spamtest value 0..10 (0 = not tested) and spamtestplus percent 0..100. */
  spamtest?: { value: number; percent?: number };
  /** RFC 5235 virustest value 0..5 (0 = not tested). */
  virustest?: number;
  /** "Now" for currentdate and vacation; default the clock. */
  now?: Date;
  /** Local time zone offset in minutes east of UTC for date tests without :zone; default 0. */
  zoneOffset?: number;
  /** RFC 6609 include: returns the script text (or a parsed Script), null when missing. */
  include?: (name: string, location: IncludeLocation) => Promise<string | Script | null> | string | Script | null;
  /** RFC 7352 duplicate: true when `id` was already tracked under `handle`. Missing: never seen. */
  duplicate?: (id: string, handle: string) => Promise<boolean> | boolean;
  /** RFC 5490 mailboxexists; missing: every mailbox exists. */
  mailboxExists?: (name: string) => Promise<boolean> | boolean;
  /** RFC 5490 metadata / servermetadata are not offered. */
}

export interface RunLimits {
  /** Most explicit actions in one run (keep, fileinto, redirect, vacation, ...). */
  maxActions: number;
  /** Most redirects in one run. */
  maxRedirects: number;
  /** Interpreter steps (commands, tests, string comparisons, regex steps). */
  maxSteps: number;
  /** Wall-clock time of the run in milliseconds (callbacks included). */
  maxMillis: number;
  /** Nesting of includes (RFC 6609). */
  maxIncludeDepth: number;
  /** Longest value of a variable in characters (RFC 5229 4 lets us truncate). */
  maxVariableSize: number;
  /** Largest header block after editheader changes, in octets. */
  maxHeaderSize: number;
}

/** Flags as set by imap4flags (RFC 5232), in order, duplicates removed. */
export type Flags = string[];

/** The message with editheader changes, attached to the actions that store or send it. */
export interface Edited {
  /** The full message after header edits; absent when the header was not changed. */
  message?: Buffer;
}

export type SieveAction =
  | ({ type: 'keep'; flags: Flags; implicit: boolean } & Edited)
  | ({ type: 'fileinto'; mailbox: string; copy: boolean; create: boolean; flags: Flags;
       /** RFC 8579 :specialuse is not offered; kept absent. */ } & Edited)
  | ({ type: 'redirect'; address: string; copy: boolean } & Edited)
  | { type: 'reject'; text: string; /** true for ereject (RFC 5429 2.1: reject at SMTP time) */ extended: boolean }
  | { type: 'discard' }
  | VacationAction;

/** RFC 5230 vacation (+ RFC 6131 :seconds): delivery decides whether to send and remembers. */
export interface VacationAction {
  type: 'vacation';
  /** The address the reply goes to: the envelope sender (RFC 5230 4.4). */
  to: string;
  /** Seconds the sender is not answered again (from :days or :seconds, bounded). */
  seconds: number;
  /** The tracking handle (RFC 5230 4.2): :handle, or derived from the parameters. */
  handle: string;
  subject: string;
  /** :from, when given. */
  from?: string;
  /** :addresses plus the user's own. */
  addresses: string[];
  /** The reason: a text body, or a MIME entity when `mime` is true. */
  reason: string;
  mime: boolean;
  /** Message-ID of the message answered, for In-Reply-To and References. */
  inReplyTo?: string;
  references?: string;
  /**
   * Why the reply must not be sent, when the interpreter already knows (RFC 5230 4.5 and 5:
   * the user is not a recipient, the sender is null or an automatic one, ...); absent: send,
   * subject to the :days memory.
   */
  suppress?: string;
}

export interface LogEntry {
  /** Line of the script (1-based) that caused the entry, 0 when none. */
  line: number;
  /** Script name for includes ('' for the main script). */
  script: string;
  message: string;
}

export interface RunResult {
  /** What to do, in order. Always holds at least one keep, fileinto, redirect, reject or discard. */
  actions: SieveAction[];
  /** Duplicate ids to remember once delivery succeeded (RFC 7352 3.1), with their lifetime. */
  duplicates: { handle: string; id: string; seconds: number }[];
  /** Run-time notes: `error` set when a failure (or a limit) made the run fall back to keep. */
  log: LogEntry[];
  /** The failure that made the run end in implicit keep, if any. */
  error?: LogEntry;
}
