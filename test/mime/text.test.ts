import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessageDate } from '../../src/mime/date.js';
import {
  baseSubject, containsFolded, decodeEncodedWords, foldCase, sortDisplayKey, sortMailboxKey, unfold,
} from '../../src/mime/text.js';

const raw = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

test('RFC 2047 encoded words', { timeout: 30000 }, () => {
  assert.equal(decodeEncodedWords('=?iso-8859-1?Q?Caf=E9_cr=E8me?='), 'Café crème');
  assert.equal(decodeEncodedWords('=?utf-8?Q?Hello_?= =?utf-8?Q?W=C3=B6rld?=\r\n  =?utf-8?B?IQ==?='), 'Hello Wörld!');
  assert.equal(decodeEncodedWords('=?iso-2022-jp?B?GyRCRnxLXDhsJE43b0w+GyhC?='), '日本語の件名');
  assert.equal(decodeEncodedWords('=?utf-8*en?Q?tagged?= text'), 'tagged text');
  assert.equal(decodeEncodedWords('a =?utf-8?Q?b?= c'), 'a b c', 'white space next to plain text stays');
  // a UTF-8 character split over two words survives (the words are joined before decoding)
  assert.equal(decodeEncodedWords('=?utf-8?B?w6k=?= =?utf-8?Q?=C3?= =?utf-8?Q?=A9?='), 'éé');
  assert.equal(decodeEncodedWords('=?x-unknown?Q?abc?= =?utf-8?B?@@@?='), '=?x-unknown?Q?abc?= =?utf-8?B?@@@?=');
  assert.equal(decodeEncodedWords(raw('raw Grüße')), 'raw Grüße');
  assert.equal(decodeEncodedWords('Caf\xe9'), 'Café', 'invalid UTF-8 is read as windows-1252');
  assert.equal(unfold('a\r\n b\r\n\tc'), 'a b\tc');
});

test('RFC 5256 base subject', { timeout: 30000 }, () => {
  const cases: [string, string][] = [
    ['Re: Project plan', 'Project plan'],
    ['RE: re: Re[2]: Lunch', 'Lunch'],
    ['[team] Re: Lunch on Friday?', 'Lunch on Friday?'],
    ['Fw: Lunch on Friday? (fwd)', 'Lunch on Friday?'],
    ['Fwd: Fwd:  x  (fwd) (fwd)', 'x'],
    ['[Fwd: Budget 2026]', 'Budget 2026'],
    ['[Fwd: Re: [list] thing]', 'thing'],
    ['Re: ', ''],
    ['[only a blob]', '[only a blob]'],
    ['=?utf-8?Q?Re=3A_Lunch_on_Friday=3F?=', 'Lunch on Friday?'],
    ['RE:   lunch  on\tfriday?', 'lunch on friday?'],
  ];
  for (const [subject, base] of cases) assert.equal(baseSubject(subject), base, subject);
});

test('case-insensitive matching on decoded text', { timeout: 30000 }, () => {
  assert.ok(containsFolded('Grüße aus München', 'GRÜSSE'));
  assert.ok(containsFolded('PROJECT plan', 'project PLAN'));
  assert.ok(!containsFolded('abc', 'abd'));
  assert.equal(foldCase('é'), foldCase('É'));
});

test('sort keys: first mailbox (RFC 5256) and display name (RFC 5957)', { timeout: 30000 }, () => {
  assert.equal(sortMailboxKey(['"Alice" <Alice@Example.com>, bob@x.example']), 'ALICE');
  assert.equal(sortMailboxKey(['Group: ;, carol@x.example']), 'CAROL');
  assert.equal(sortMailboxKey(undefined), '');
  assert.equal(sortDisplayKey(['=?utf-8?B?5bGx55Sw?= <taro@example.jp>']), foldCase('山田'));
  assert.equal(sortDisplayKey(['bob@example.org']), 'BOB@EXAMPLE.ORG');
});

test('Date header: RFC 5322 with obsolete forms', { timeout: 30000 }, () => {
  assert.deepEqual(parseMessageDate('Sun, 2 Feb 2025 01:00 +1400'), { time: Date.UTC(2025, 1, 1, 11, 0), year: 2025, month: 2, day: 2 });
  assert.equal(parseMessageDate('Fri, 14 Feb 2025 07:00:00 EST')!.time, Date.UTC(2025, 1, 14, 12, 0));
  assert.equal(parseMessageDate('31 Dec 99 23:59:59 GMT')!.year, 1999);
  assert.equal(parseMessageDate('Mon, 3 Mar 2025 (comment) 17:15:00  +0000 (UTC)')!.time, Date.UTC(2025, 2, 3, 17, 15));
  assert.equal(parseMessageDate('Fri, 13 Dec 1901 20:45:52 +0000')!.time, -(2 ** 31) * 1000);
  assert.equal(parseMessageDate('not a date'), null);
  assert.equal(parseMessageDate('Mon, 32 Jan 2025 10:00:00 +0000'), null);
  assert.equal(parseMessageDate('Mon, 1 Jan 2025 25:61:61 +0000'), null);
});
