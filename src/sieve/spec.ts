/**
 * The command and test tables: for each name, the extension that brings it, its tagged
 * arguments (with the extension a tag needs and its exclusive group), its positional
 * arguments and whether it takes tests or a block. The validator checks scripts against these.
 */

export type ArgKind = 'string' | 'strlist' | 'num';

export interface TagSpec {
  /** The tag's own argument, if it takes one. */
  arg?: ArgKind;
  /** Extension that must be required to use the tag. */
  ext?: string;
  /** Tags of one group exclude each other (match type, comparator, address part, ...). */
  group?: string;
}

export interface Spec {
  ext?: string;
  tags: Record<string, TagSpec>;
  pos: ArgKind[];
  /** A positional argument that may be left out: the first (hasflag, setflag) or the last. */
  optional?: 'first' | 'last';
  tests: 'none' | 'one' | 'list';
  block?: boolean;
}

/** Every extension the engine implements, as named in `require` and in SIEVE capabilities. */
export const SIEVE_EXTENSIONS: readonly string[] = [
  'fileinto', 'reject', 'ereject', 'envelope', 'encoded-character', 'comparator-i;octet',
  'comparator-i;ascii-casemap', 'comparator-i;ascii-numeric', 'body', 'variables', 'relational',
  'subaddress', 'imap4flags', 'vacation', 'vacation-seconds', 'date', 'index', 'include',
  'duplicate', 'editheader', 'regex', 'spamtest', 'spamtestplus', 'virustest', 'mailbox',
  'environment', 'copy',
];

export const COMPARATORS: Record<string, string | null> = {
  'i;octet': null,
  'i;ascii-casemap': null,
  'i;ascii-numeric': 'comparator-i;ascii-numeric',
};

const MATCH: Record<string, TagSpec> = {
  is: { group: 'match' },
  contains: { group: 'match' },
  matches: { group: 'match' },
  regex: { group: 'match', ext: 'regex' },
  value: { group: 'match', arg: 'string', ext: 'relational' },
  count: { group: 'match', arg: 'string', ext: 'relational' },
};
const COMPARATOR: Record<string, TagSpec> = { comparator: { arg: 'string', group: 'comparator' } };
const ADDRESS_PART: Record<string, TagSpec> = {
  all: { group: 'addrpart' },
  localpart: { group: 'addrpart' },
  domain: { group: 'addrpart' },
  user: { group: 'addrpart', ext: 'subaddress' },
  detail: { group: 'addrpart', ext: 'subaddress' },
};
const INDEX: Record<string, TagSpec> = {
  index: { arg: 'num', ext: 'index' },
  last: { ext: 'index' },
};
const ZONE: Record<string, TagSpec> = {
  zone: { arg: 'string', group: 'zone' },
  originalzone: { group: 'zone' },
};
const MATCHING = { ...MATCH, ...COMPARATOR };
const FLAGS: Record<string, TagSpec> = { flags: { arg: 'strlist', ext: 'imap4flags' } };

export const COMMANDS: Record<string, Spec> = {
  require: { tags: {}, pos: ['strlist'], tests: 'none' },
  if: { tags: {}, pos: [], tests: 'one', block: true },
  elsif: { tags: {}, pos: [], tests: 'one', block: true },
  else: { tags: {}, pos: [], tests: 'none', block: true },
  stop: { tags: {}, pos: [], tests: 'none' },
  keep: { tags: { ...FLAGS }, pos: [], tests: 'none' },
  discard: { tags: {}, pos: [], tests: 'none' },
  redirect: { tags: { copy: { ext: 'copy' } }, pos: ['string'], tests: 'none' },
  fileinto: {
    ext: 'fileinto',
    tags: { copy: { ext: 'copy' }, create: { ext: 'mailbox' }, ...FLAGS },
    pos: ['string'], tests: 'none',
  },
  reject: { ext: 'reject', tags: {}, pos: ['string'], tests: 'none' },
  ereject: { ext: 'ereject', tags: {}, pos: ['string'], tests: 'none' },
  vacation: {
    ext: 'vacation',
    tags: {
      days: { arg: 'num', group: 'period' },
      seconds: { arg: 'num', group: 'period', ext: 'vacation-seconds' },
      subject: { arg: 'string' }, from: { arg: 'string' }, addresses: { arg: 'strlist' },
      mime: {}, handle: { arg: 'string' },
    },
    pos: ['string'], tests: 'none',
  },
  set: {
    ext: 'variables',
    tags: {
      lower: { group: 'case' }, upper: { group: 'case' },
      lowerfirst: { group: 'casefirst' }, upperfirst: { group: 'casefirst' },
      quotewildcard: { group: 'quote' }, quoteregex: { group: 'quote', ext: 'regex' },
      length: { group: 'length' },
    },
    pos: ['string', 'string'], tests: 'none',
  },
  setflag: { ext: 'imap4flags', tags: {}, pos: ['string', 'strlist'], optional: 'first', tests: 'none' },
  addflag: { ext: 'imap4flags', tags: {}, pos: ['string', 'strlist'], optional: 'first', tests: 'none' },
  removeflag: { ext: 'imap4flags', tags: {}, pos: ['string', 'strlist'], optional: 'first', tests: 'none' },
  include: {
    ext: 'include',
    tags: {
      personal: { group: 'location' }, global: { group: 'location' }, once: {}, optional: {},
    },
    pos: ['string'], tests: 'none',
  },
  return: { ext: 'include', tags: {}, pos: [], tests: 'none' },
  global: { ext: 'include', tags: {}, pos: ['strlist'], tests: 'none' },
  addheader: { ext: 'editheader', tags: { last: {} }, pos: ['string', 'string'], tests: 'none' },
  deleteheader: {
    ext: 'editheader',
    tags: { ...MATCHING, index: { arg: 'num' }, last: {} },
    pos: ['string', 'strlist'], optional: 'last', tests: 'none',
  },
};

export const TESTS: Record<string, Spec> = {
  address: { tags: { ...MATCHING, ...ADDRESS_PART, ...INDEX }, pos: ['strlist', 'strlist'], tests: 'none' },
  envelope: { ext: 'envelope', tags: { ...MATCHING, ...ADDRESS_PART }, pos: ['strlist', 'strlist'], tests: 'none' },
  header: { tags: { ...MATCHING, ...INDEX }, pos: ['strlist', 'strlist'], tests: 'none' },
  exists: { tags: {}, pos: ['strlist'], tests: 'none' },
  size: { tags: { over: { group: 'size' }, under: { group: 'size' } }, pos: ['num'], tests: 'none' },
  allof: { tags: {}, pos: [], tests: 'list' },
  anyof: { tags: {}, pos: [], tests: 'list' },
  not: { tags: {}, pos: [], tests: 'one' },
  true: { tags: {}, pos: [], tests: 'none' },
  false: { tags: {}, pos: [], tests: 'none' },
  body: {
    ext: 'body',
    tags: {
      ...MATCHING, raw: { group: 'transform' }, text: { group: 'transform' },
      content: { arg: 'strlist', group: 'transform' },
    },
    pos: ['strlist'], tests: 'none',
  },
  string: { ext: 'variables', tags: { ...MATCHING }, pos: ['strlist', 'strlist'], tests: 'none' },
  hasflag: { ext: 'imap4flags', tags: { ...MATCHING }, pos: ['strlist', 'strlist'], optional: 'first', tests: 'none' },
  date: { ext: 'date', tags: { ...MATCHING, ...ZONE, ...INDEX }, pos: ['string', 'string', 'strlist'], tests: 'none' },
  currentdate: { ext: 'date', tags: { ...MATCHING, zone: { arg: 'string' } }, pos: ['string', 'strlist'], tests: 'none' },
  duplicate: {
    ext: 'duplicate',
    tags: {
      handle: { arg: 'string' }, header: { arg: 'string', group: 'id' }, uniqueid: { arg: 'string', group: 'id' },
      seconds: { arg: 'num' }, last: {},
    },
    pos: [], tests: 'none',
  },
  spamtest: { ext: 'spamtest', tags: { ...MATCHING, percent: { ext: 'spamtestplus' } }, pos: ['string'], tests: 'none' },
  virustest: { ext: 'virustest', tags: { ...MATCHING }, pos: ['string'], tests: 'none' },
  mailboxexists: { ext: 'mailbox', tags: {}, pos: ['strlist'], tests: 'none' },
  environment: { ext: 'environment', tags: { ...MATCHING }, pos: ['string', 'strlist'], tests: 'none' },
};

/** Extensions that imply others (RFC 5230 5 / RFC 6131: vacation-seconds implies vacation). */
export const IMPLIES: Record<string, string[]> = {
  'vacation-seconds': ['vacation'],
  spamtestplus: ['spamtest'],
};

export const RELATIONAL_OPS = new Set(['gt', 'ge', 'lt', 'le', 'eq', 'ne']);

/** RFC 5260 4: date-part names. */
export const DATE_PARTS = new Set([
  'year', 'month', 'day', 'date', 'julian', 'hour', 'minute', 'second', 'time', 'iso8601', 'std11',
  'zone', 'weekday',
]);
