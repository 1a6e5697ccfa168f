import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { splitCommand, parseMail, parseRcpt, decodeXtext } from '../../src/smtp/command.js';
import { parsePath } from '../../src/smtp/address.js';
import { DataDecoder } from '../../src/smtp/data.js';
import { LineFramer, type Frame } from '../../src/smtp/lines.js';
import { check, cuts, split, soup, byteSoup, pull, TEST_TIMEOUT } from './runner.js';

/** SMTP as a hostile client writes it: command lines (RFC 5321 4.1), paths, parameters, DATA. */

const PATH_PIECES = ['<', '>', '@', '"', '\\', ' ', '.', ',', ':', '[', ']', 'IPv6:', '::1', '127.0.0.1', 'a', 'b.test', 'é', '\u{1F600}', 'postmaster', '@x.test:', '\u0000', '\t'];
const PARAM_PIECES = [' SIZE=', ' BODY=8BITMIME', ' BODY=7BIT', ' SMTPUTF8', ' RET=HDRS', ' ENVID=', ' NOTIFY=', 'SUCCESS', ',', 'NEVER', ' ORCPT=', 'rfc822;', '+2B', '+', '=', '12345', '99999999999999999999999'];

test('fuzz: command lines split into a verb and its argument, or a syntax error; never a throw', { timeout: TEST_TIMEOUT }, () => {
  check([byteSoup(['MAIL FROM:', 'RCPT TO:', 'EHLO ', 'DATA', 'BDAT ', ' ', '\r', '\n', '\x00', '\xff', '\xc3\xa9', 'a', 'QUIT'], 40)], (line) => {
    const r = splitCommand(line);
    if (r.ok) {
      assert.match(r.value.verb, /^[A-Z]{1,16}$/);
      assert.ok(Buffer.byteLength(r.value.arg) < line.length);
    } else assert.equal(r.reply.code, 500);
  });
});

test('fuzz: MAIL and RCPT arguments give a path and parameters or a 5xx reply; never a throw', { timeout: TEST_TIMEOUT }, () => {
  const arg = fc.tuple(fc.constantFrom('FROM:', 'TO:', 'from: ', 'FROM', ''), soup(PATH_PIECES, 25), soup(PARAM_PIECES, 12)).map(([a, b, c]) => a + b + c);
  check([arg, fc.boolean()], (text, smtputf8) => {
    const m = parseMail(text);
    if (m.ok) assert.ok(m.value.sender.length <= text.length);
    else assert.ok(m.reply.code >= 500 && m.reply.code < 600);
    const r = parseRcpt(text, { smtputf8, postmasterDomain: 'example.test' });
    if (r.ok) assert.ok(r.value.address.length <= text.length + 'postmaster@example.test'.length);
    else assert.ok(r.reply.code >= 500 && r.reply.code < 600);
    const p = parsePath(text, text.indexOf('<'), true);
    if (p.ok) assert.ok(p.end <= text.length);
  });
});

// Round trip: a valid command made from parts parses back to those parts.
const atext = fc.constantFrom(...'abcXYZ019!#$%&\'*+-/=?^_`{|}~'.split(''));
const atom = fc.array(atext, { minLength: 1, maxLength: 8 }).map((a) => a.join(''));
const local = fc.array(atom, { minLength: 1, maxLength: 3 }).map((a) => a.join('.'));
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((a) => a.join('.'));
const address = fc.tuple(local, domain).map(([l, d]) => `${l}@${d}`);

function xtext(s: string): string {
  return [...Buffer.from(s, 'latin1')].map((b) => (b >= 33 && b <= 126 && b !== 0x2b && b !== 0x3d ? String.fromCharCode(b) : `+${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

test('fuzz: MAIL FROM built from valid parts parses back to the same sender and parameters', { timeout: TEST_TIMEOUT }, () => {
  const params = fc.record({
    size: fc.option(fc.nat(), { nil: undefined }),
    body: fc.option(fc.constantFrom('7BIT', '8BITMIME') as fc.Arbitrary<'7BIT' | '8BITMIME'>, { nil: undefined }),
    ret: fc.option(fc.constantFrom('FULL', 'HDRS') as fc.Arbitrary<'FULL' | 'HDRS'>, { nil: undefined }),
    envid: fc.option(fc.string({ unit: 'binary-ascii', maxLength: 30 }), { nil: undefined }),
  });
  check([fc.option(address, { nil: '' }), params], (sender, p) => {
    let line = `FROM:<${sender}>`;
    if (p.size !== undefined) line += ` SIZE=${p.size}`;
    if (p.body) line += ` BODY=${p.body}`;
    if (p.ret) line += ` RET=${p.ret}`;
    if (p.envid !== undefined && p.envid !== '') line += ` ENVID=${xtext(p.envid)}`;
    const r = parseMail(line);
    assert.ok(r.ok, `${line}: ${!r.ok && r.reply.text}`);
    assert.equal(r.value.sender, sender);
    assert.equal(r.value.params.size, p.size);
    assert.equal(r.value.params.body, p.body);
    assert.equal(r.value.params.ret, p.ret);
    assert.equal(r.value.params.envid, p.envid || undefined);
  });
});

test('fuzz: RCPT TO built from valid parts parses back, NOTIFY and ORCPT included', { timeout: TEST_TIMEOUT }, () => {
  const notify = fc.option(fc.oneof(fc.constant(['NEVER']), fc.uniqueArray(fc.constantFrom('SUCCESS', 'FAILURE', 'DELAY'), { minLength: 1 })), { nil: undefined });
  check([address, notify, fc.boolean()], (rcpt, n, orcpt) => {
    const line = `TO:<${rcpt}>${n ? ` NOTIFY=${n.join(',')}` : ''}${orcpt ? ` ORCPT=rfc822;${xtext(rcpt)}` : ''}`;
    const r = parseRcpt(line, { smtputf8: false, postmasterDomain: 'example.test' });
    assert.ok(r.ok, line);
    assert.equal(r.value.address, rcpt);
    assert.deepEqual(r.value.notify, n);
    assert.equal(r.value.orcpt, orcpt ? `rfc822;${rcpt}` : undefined);
    assert.equal(decodeXtext(xtext(rcpt)), rcpt);
  });
});

function frames(framer: LineFramer, chunks: Buffer[]): string[] {
  return pull(framer, chunks, (f: Frame) => (f.kind === 'line' ? `line:${f.line.toString('latin1')}` : f.kind));
}

test('fuzz: command framing gives the same lines however the bytes are cut, and holds less than a line', { timeout: TEST_TIMEOUT }, () => {
  check([byteSoup(['\r\n', '\n', '\r', 'MAIL FROM:<a@b>', 'x'.repeat(40), ' '], 40), cuts, fc.integer({ min: 8, max: 120 })], (input, at, max) => {
    const whole = new LineFramer(max);
    const a = frames(whole, [input]);
    const parts = new LineFramer(max);
    const b = frames(parts, split(input, at));
    assert.deepEqual(b, a);
    assert.ok(parts.buffered < max, `holds ${parts.buffered} octets with a limit of ${max}`);
    for (const f of a) if (f.startsWith('line:')) assert.ok(f.length - 5 <= max - 2);
  });
});

/** RFC 5321 4.5.2 transparency, as a client applies it, and the end marker. */
function stuff(message: Buffer): Buffer {
  const lines = message.toString('latin1').split('\r\n');
  // The message ends with CRLF (or is empty: the CRLF ending the DATA command counts).
  return Buffer.from(lines.map((l) => (l.startsWith('.') ? '.' + l : l)).join('\r\n') + '.\r\n', 'latin1');
}

function decode(chunks: Buffer[]): { message: Buffer; done: boolean; rest: Buffer } {
  const d = new DataDecoder();
  const out: Buffer[] = [];
  let rest = Buffer.alloc(0);
  let done = false;
  for (const c of chunks) {
    const r = d.push(c);
    out.push(...r.out);
    if (r.done) {
      done = true;
      rest = Buffer.concat([rest, r.rest]);
    }
  }
  return { message: Buffer.concat(out), done, rest };
}

test('fuzz: DATA framing: dot-stuffing then decoding gives the original message, however it is cut', { timeout: TEST_TIMEOUT }, () => {
  const line = fc.string({ unit: fc.constantFrom('.', 'a', ' ', '\t', 'é', '\x00', '\x7f'), maxLength: 6 });
  const message = fc.array(line, { maxLength: 12 }).map((ls) => Buffer.from(ls.map((l) => l + '\r\n').join(''), 'latin1'));
  check([message, byteSoup(['MAIL FROM:<x@y>\r\n', '.\r\n', 'QUIT\r\n'], 3), cuts], (msg, after, at) => {
    const wire = Buffer.concat([stuff(msg), after]);
    const r = decode(split(wire, at));
    assert.ok(r.done);
    assert.deepEqual(r.message, msg);
    assert.deepEqual(r.rest, after, 'what follows the end marker is handed back, never taken as message text');
  });
});

test('fuzz: DATA decoding of any bytes: same result whole or cut, ends only at CRLF.CRLF, output bounded', { timeout: TEST_TIMEOUT }, () => {
  check([byteSoup(['\r\n', '\r', '\n', '.', '\r\n.\r\n', '\n.\n', '\r\n.\n', '\n.\r\n', 'text'], 40), cuts], (input, at) => {
    const whole = decode([input]);
    const cut = decode(split(input, at));
    assert.deepEqual(cut, whole);
    // Every bare CR or LF becomes CRLF: at most twice the input.
    assert.ok(whole.message.length <= 2 * input.length);
    if (whole.done) {
      // The end marker: the CRLF ending DATA (or the message's last line), ".", CRLF.
      const consumed = Buffer.concat([Buffer.from('\r\n'), input.subarray(0, input.length - whole.rest.length)]);
      assert.ok(consumed.subarray(-5).equals(Buffer.from('\r\n.\r\n')), JSON.stringify(consumed.toString('latin1')));
    } else {
      assert.equal(Buffer.concat([Buffer.from('\r\n'), input]).indexOf('\r\n.\r\n'), -1, 'CRLF.CRLF in the input must end DATA');
    }
  });
});
