import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyParser, ReplyError, parseEhlo, replyText, statusOf } from '../../src/outbound/reply.js';

const EHLO = '250-mx.remote.test hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-AUTH PLAIN login\r\n250-DSN\r\n250 SMTPUTF8\r\n';

test('multi-line replies parse the same cut at every byte', () => {
  const input = EHLO + '550-5.1.1 no such\r\n550 5.1.1 user here\r\n221 bye\n';
  for (let i = 0; i <= input.length; i++) {
    const p = new ReplyParser();
    const got = [...p.push(input.slice(0, i)), ...p.push(input.slice(i))];
    assert.equal(got.length, 3, `cut at ${i}`);
    assert.equal(got[1].code, 550);
    assert.equal(got[1].enhanced, '5.1.1');
    assert.deepEqual(got[1].lines, ['no such', 'user here']);
    assert.equal(replyText(got[1]), '550 5.1.1 no such user here');
    assert.equal(got[2].code, 221);
  }
});

test('EHLO keywords become extensions', () => {
  const [r] = new ReplyParser().push(EHLO);
  const e = parseEhlo(r);
  assert.equal(e.pipelining, true);
  assert.equal(e.size, 1000);
  assert.equal(e.eightBitMime, true);
  assert.equal(e.dsn, true);
  assert.equal(e.smtputf8, true);
  assert.equal(e.starttls, false);
  assert.deepEqual(e.auth, ['PLAIN', 'LOGIN']);
});

test('a status without an enhanced code gets its class', () => {
  const [r] = new ReplyParser().push('451 try later\r\n');
  assert.equal(r.enhanced, null);
  assert.equal(statusOf(r), '4.0.0');
  const [m] = new ReplyParser().push('550 4.1.1 inconsistent\r\n');
  assert.equal(statusOf(m), '5.0.0', 'an enhanced code of another class is not trusted');
});

test('garbage, a code change inside a reply and endless lines are errors, not hangs', () => {
  assert.throws(() => new ReplyParser().push('hello\r\n'), ReplyError);
  assert.throws(() => new ReplyParser().push('250-a\r\n251 b\r\n'), ReplyError);
  assert.throws(() => new ReplyParser().push('250 ' + 'x'.repeat(5000)), ReplyError);
  const p = new ReplyParser();
  assert.throws(() => { for (let i = 0; i < 300; i++) p.push('250-more\r\n'); }, ReplyError);
});
