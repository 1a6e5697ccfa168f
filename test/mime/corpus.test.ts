import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareMessage, corpusMissing, itemKey, loadManifest } from './corpus.js';

/**
 * Every per-message FETCH answer of the corpus (ENVELOPE, BODY, BODYSTRUCTURE, RFC822.SIZE,
 * BODY[section], BINARY[part], BINARY.SIZE[part], and the tagged status of BINARY) computed
 * from our stored MIME tree, compared byte for byte with Dovecot's recorded answers.
 *
 * Where we deliberately answer differently, KNOWN_DIFFERENCES says why and states our answer
 * as an explicit edit of Dovecot's: the test then requires exactly that answer, so a
 * regression in those items fails too. The same list, in prose, is in docs/DECISIONS.md
 * ("MIME and IMAP structure").
 */

type Items = Map<string, string>;
interface KnownDifference {
  reason: string;
  /** `NNN ITEM` keys (see itemKey). */
  items: string[];
  /** Our answer, from Dovecot's answer to this item and all its items for the message. */
  ours: (dovecot: string, all: Items, key: string) => string;
}

/** A JS string as the latin1 view of its UTF-8 bytes (how values are compared here). */
const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
/** An IMAP literal of a Unicode string sent as UTF-8. */
const lit = (s: string): string => `{${Buffer.byteLength(s)}}\r\n${utf8(s)}`;

/** Replaces every occurrence of `from` (which must occur) by `to`. */
function edit(...pairs: [string, string][]): (dovecot: string) => string {
  return (dovecot) => {
    let out = dovecot;
    for (const [from, to] of pairs) {
      assert.ok(out.includes(from), `known difference no longer applies: "${from}" not in Dovecot's answer`);
      out = out.split(from).join(to);
    }
    return out;
  };
}

/** Replaces each `from` that occurs by its `to`; at least one must occur. */
function editAny(...pairs: [string, string][]): (dovecot: string) => string {
  return (dovecot) => {
    const present = pairs.filter(([from]) => dovecot.includes(from));
    assert.ok(present.length > 0, 'known difference no longer applies to Dovecot\'s answer');
    return edit(...present)(dovecot);
  };
}

/** A BODY[...] literal whose content loses its last CRLF. */
function withoutFinalCrlf(dovecot: string): string {
  const m = /^\{(\d+)\}\r\n([\s\S]*)\r\n$/.exec(dovecot);
  assert.ok(m !== null, 'expected a literal ending in CRLF');
  return `{${Number(m[1]) - 2}}\r\n${m[2]}`;
}

function literalContent(value: string | undefined): string {
  const m = /^~?\{(\d+)\}\r\n([\s\S]*)$/.exec(value ?? '');
  assert.ok(m !== null, 'expected a literal');
  return m[2];
}

/** Part 2 of a multipart/mixed, a message/rfc822, with 2 octets and 1 line fewer. */
function shorterMessagePart(encoding: string, size: number, lines: number, extensible: boolean): (dovecot: string) => string {
  return (dovecot) => extensible
    ? edit([`"${encoding}" ${size} (`, `"${encoding}" ${size - 2} (`],
      [`) ${lines} NIL NIL NIL NIL) "mixed"`, `) ${lines - 1} NIL NIL NIL NIL) "mixed"`])(dovecot)
    : edit([`"${encoding}" ${size} (`, `"${encoding}" ${size - 2} (`],
      [`) ${lines}) "mixed")`, `) ${lines - 1}) "mixed")`])(dovecot);
}

const PART_098 = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" ';

const KNOWN_DIFFERENCES: KnownDifference[] = [
  {
    reason: 'RFC 2045 5.2: a syntactically invalid Content-Type ("text" alone, garbage) means '
      + 'text/plain; charset=us-ascii. Dovecot answers an empty type and subtype.',
    items: ['024 BODY', '024 BODYSTRUCTURE', '025 BODY', '025 BODYSTRUCTURE'],
    ours: edit(['("" "" NIL NIL NIL "7bit" 307', '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 307 8']),
  },
  {
    reason: 'RFC 9051 7.5.2: servers SHOULD decode RFC 2231 parameter charsets and return the '
      + 'value in UTF-8 under "name*". Dovecot returns the percent-encoded value.',
    items: ['060 BODYSTRUCTURE', '061 BODYSTRUCTURE', '062 BODY', '062 BODYSTRUCTURE', '063 BODY',
      '063 BODYSTRUCTURE', '064 BODYSTRUCTURE'],
    ours: editAny(
      ['"utf-8\'\'R%C3%A9sum%C3%A9%20f%C3%BCr%20J%C3%BCrgen.pdf"', lit('Résumé für Jürgen.pdf')],
      ['"iso-8859-1\'fr\'%E9t%E9-%E0-Paris.txt"', lit('été-à-Paris.txt')],
      ['"us-ascii\'en-us\'This%20is%20%2A%2A%2Afun%2A%2A%2A"', '"This is ***fun***"'],
      ['"windows-1252\'\'%93quoted%94%20%80.bin"', lit('“quoted” €.bin')],
      ['"utf-8\'\'preferred-%E2%9C%93.txt"', lit('preferred-✓.txt')],
    ),
  },
  {
    reason: 'Parameters are sent as written: Dovecot lower-cases CHARSET=US-ASCII (only that '
      + 'one: it keeps "UTF-8" and a parameter named "URL").',
    items: ['021 BODY', '021 BODYSTRUCTURE'],
    ours: edit(['("charset" "us-ascii")', '("CHARSET" "US-ASCII")']),
  },
  {
    reason: 'RFC 2046 5.1.1: the CRLF before a boundary delimiter belongs to the delimiter, so a '
      + 'nested multipart ends right after its close delimiter "--b--", and a part whose header '
      + 'is followed by the delimiter has no body. Dovecot counts that CRLF in the part (and, in '
      + '106, in the size of part 2 but not in its 2.HEADER).',
    items: ['073 BODY[1]', '074 BODY[1]', '075 BODY[1]', '076 BODY[1]', '077 BODY[1]', '092 BODY[1]',
      '217 BODY[1]', '100 BODY[2.TEXT]', '100 BODY', '100 BODYSTRUCTURE', '104 BODY',
      '104 BODYSTRUCTURE', '106 BODY', '106 BODYSTRUCTURE'],
    ours: (dovecot, _all, key) => {
      if (dovecot.startsWith('{')) return withoutFinalCrlf(dovecot);
      // part 2, message/rfc822: two octets and one line fewer
      const [size, lines] = ({ '100': [428, 17], '104': [539, 22], '106': [252, 8] } as Record<string, number[]>)[key.slice(0, 3)];
      return shorterMessagePart('7bit', size, lines, key.endsWith('BODYSTRUCTURE'))(dovecot);
    },
  },
  {
    reason: 'RFC 2046 5.1.1: a delimiter line is "--" boundary and only transport padding; '
      + '"--real-bX is not a delimiter either" is body text (Dovecot matches the prefix and '
      + 'finds three parts).',
    items: ['098 BODY', '098 BODYSTRUCTURE', '098 BODY[1]'],
    ours: (dovecot) => {
      if (dovecot.startsWith('{')) return lit('--not-the-boundary\r\n--real-bX is not a delimiter either');
      const ext = dovecot.includes(' NIL NIL NIL NIL)') ? ' NIL NIL NIL NIL' : '';
      return `(${PART_098}55 1${ext})${PART_098}7 0${ext}) "mixed"` +
        (ext ? ' ("boundary" "real-b") NIL NIL NIL)' : ')');
    },
  },
  {
    reason: 'A 100-character boundary is recognised in full, close delimiter included: two parts. '
      + 'Dovecot does not see the close delimiter and reports an empty third part.',
    items: ['220 BODY', '220 BODYSTRUCTURE'],
    ours: editAny(
      ['("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)', ''],
      ['("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)', ''],
    ),
  },
  {
    reason: 'message/rfc822 with (forbidden, RFC 2046 5.2.1) base64 encoding: not looked into '
      + '(empty envelope and body, as Dovecot), but its size excludes the delimiter\'s CRLF, '
      + '2.HEADER is empty like 2.TEXT, and BINARY[2] decodes the base64 (RFC 3516). Dovecot '
      + 'returns the base64 text as 2.HEADER, and undecoded content with BINARY.SIZE 0.',
    items: ['105 BODY', '105 BODYSTRUCTURE', '105 BODY[2.HEADER]', '105 BINARY[2]', '105 BINARY.SIZE[2]'],
    ours: (dovecot, all, key) => {
      const decoded = Buffer.from(literalContent(all.get('BINARY[2]')), 'base64').toString('latin1');
      if (dovecot.startsWith('(')) return shorterMessagePart('base64', 494, 7, key.endsWith('BODYSTRUCTURE'))(dovecot);
      if (dovecot.startsWith('{492}')) return '{0}\r\n';
      if (dovecot.startsWith('{494}')) return `~{${decoded.length}}\r\n${decoded}`;
      return String(decoded.length);
    },
  },
  {
    reason: 'message/global (RFC 6532 3.7) encapsulates a message like message/rfc822: 2.HEADER '
      + 'is its header and 2.1 its body. Dovecot 2.3 treats it as an opaque part. (BODYSTRUCTURE '
      + 'stays a basic part for IMAP4rev1, whose grammar has only MESSAGE/RFC822.)',
    items: ['108 BODY[2.HEADER]', '108 BODY[2.1]'],
    ours: (dovecot, all) => {
      const inner = literalContent(all.get('BODY[2.1]'));
      const cut = inner.indexOf('\r\n\r\n') + 4;
      return dovecot === '{0}\r\n' ? `{${cut}}\r\n${inner.slice(0, cut)}` : `{${inner.length - cut}}\r\n${inner.slice(cut)}`;
    },
  },
  {
    reason: 'RFC 5322 4.4: null members of an address list (",,,") are no addresses. Dovecot '
      + 'reports each as MISSING_MAILBOX@MISSING_DOMAIN; we report only the stray ";".',
    items: ['156 ENVELOPE'],
    ours: edit([
      '((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")' +
        '(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))',
      '((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))',
    ]),
  },
  {
    reason: 'RFC 5322 4.4 obs-local-part/obs-domain allow white space around the dots: '
      + '"alice . example @ example . com" is alice.example@example.com. Dovecot reports a syntax error.',
    items: ['160 ENVELOPE'],
    ours: edit(['"MISSING_MAILBOX" "SYNTAX_ERROR"', '"alice.example" "example.com"']),
  },
];

test('corpus: FETCH answers match Dovecot\'s, except the documented differences', { timeout: 120000, skip: corpusMissing }, (t) => {
  const known = new Map<string, KnownDifference>();
  for (const d of KNOWN_DIFFERENCES) for (const k of d.items) known.set(k, d);
  const seenKnown = new Set<string>();
  const failures: string[] = [];
  let identical = 0;
  let deliberate = 0;
  let messages = 0;
  const manifest = loadManifest();
  for (const entry of manifest) {
    messages++;
    const results = compareMessage(entry);
    const all: Items = new Map(results.map((r) => [r.item, r.expected.toString('latin1')]));
    for (const r of results) {
      const key = itemKey(entry.n, r);
      const dovecot = r.expected.toString('latin1');
      const got = r.got.toString('latin1');
      const diff = known.get(key);
      let want = dovecot;
      if (diff !== undefined) {
        seenKnown.add(key);
        try {
          want = diff.ours(dovecot, all, key);
        } catch (e) {
          failures.push(`${key}: ${(e as Error).message}`);
          continue;
        }
      }
      if (got === want) {
        if (diff === undefined) identical++;
        else deliberate++;
      } else {
        let i = 0;
        while (i < want.length && want[i] === got[i]) i++;
        failures.push(`${key} differs at byte ${i}${diff ? ' (from the documented answer)' : ''}\n` +
          `  want: ${JSON.stringify(want.slice(Math.max(0, i - 40), i + 60))}\n` +
          `  got:  ${JSON.stringify(got.slice(Math.max(0, i - 40), i + 60))}`);
      }
    }
  }
  t.diagnostic(`${messages} messages: ${identical} items identical to Dovecot's, ${deliberate} deliberately different, ${failures.length} wrong`);
  assert.equal(messages, 237);
  assert.deepEqual(failures, []);
  const stale = [...known.keys()].filter((k) => !seenKnown.has(k));
  assert.deepEqual(stale, [], 'known differences that name no recorded item');
  assert.ok(identical > 2700, `only ${identical} identical items`);
});
