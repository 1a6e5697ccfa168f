import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { codes, swaks, talk } from './smtp.js';
import { waitForMessages } from './mailbox.js';
import { ForgedResultsFilter, authservId } from '../../src/policy/forged-results.js';
import { needs } from '../helpers/peers.js';

/**
 * RFC 8601 5: an Authentication-Results field in incoming mail that claims our authserv-id
 * (mail.example.test) is renamed to X-Original-Authentication-Results before the message is
 * stored; one of another authserv-id is kept. Over port 25 and LMTP, read back with IMAP.
 */

let server: TestServer;
let lmtpPort = 0;
const PW = 'pw-forged-1';

test.before(async () => {
  server = await startServer({ toml: '[lmtp]\nlisten = ["127.0.0.1:0"]\n' });
  lmtpPort = (JSON.parse(readFileSync(join(server.dir, 'listening.json'), 'utf8')) as Record<string, { port: number }[]>).lmtp[0].port;
  await server.addUser('usr@example.test', PW);
  await server.addUser('lm@example.test', PW);
});
test.after(async () => {
  await server?.stop();
});

/** The header block's fields, unfolded. */
function fields(msg: string): string[] {
  const head = msg.slice(0, msg.indexOf('\r\n\r\n'));
  return head.split(/\r\n(?![ \t])/).map((f) => f.replace(/\r\n[ \t]+/g, ' '));
}

const FORGED = [
  'Authentication-Results: mail.example.test; dkim=pass header.d=forged.test',
  'authentication-results :\r\n (a comment) MAIL.Example.Test;\r\n spf=pass smtp.mailfrom=forged.test',
  'Authentication-Results: "mail.example.test"; dmarc=pass header.from=forged.test',
];
const FOREIGN = 'Authentication-Results: other.example.net; dkim=pass header.d=kept.test';

test('port 25: results claiming our authserv-id are renamed, a foreign one is kept', { timeout: 60000 }, async () => {
  const data = [...FORGED, FOREIGN, 'From: <a@remote.test>', 'To: <usr@example.test>', 'Subject: forged-ar', '',
    'Authentication-Results: mail.example.test; dkim=pass header.d=in-body.test', '.'].join('\r\n');
  const r = await talk(server.ports.smtp, '127.0.0.1', ['EHLO client.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<usr@example.test>', 'DATA', data]);
  assert.match(codes(r)[5], /^250 /, codes(r).join(' | '));
  const [msg] = await waitForMessages(server.ports.imaps, 'usr@example.test', PW, 1);
  const f = fields(msg);
  const ours = f.filter((x) => /^authentication-results\s*:/i.test(x) && (authservId(x.slice(x.indexOf(':') + 1)) ?? '').toLowerCase() === 'mail.example.test');
  // Only the server's own field is left under that name, and it says nothing of forged.test.
  assert.ok(ours.length <= 1, ours.join('\n'));
  for (const o of ours) assert.doesNotMatch(o, /forged\.test/);
  const renamed = f.filter((x) => /^X-Original-authentication-results\s*:/i.test(x));
  assert.equal(renamed.length, 3, f.join('\n'));
  assert.ok(renamed.some((x) => x === 'X-Original-Authentication-Results: mail.example.test; dkim=pass header.d=forged.test'));
  assert.ok(renamed.some((x) => x.startsWith('X-Original-authentication-results : (a comment) MAIL.Example.Test;')), 'folded, commented, any case');
  assert.ok(f.includes(FOREIGN), 'a foreign authserv-id is left alone');
  assert.match(msg, /\r\n\r\nAuthentication-Results: mail\.example\.test; dkim=pass header\.d=in-body\.test\r\n/, 'the body is untouched');
  assert.match(server.readLog(), /renamed 3 Authentication-Results field/);
});

test('LMTP: the same for mail handed over by another MTA', { timeout: 60000, ...needs('swaks') }, async () => {
  const r = await swaks(['--protocol', 'LMTP', '--server', `127.0.0.1:${lmtpPort}`, '--helo', 'front.test',
    '--from', 'a@remote.test', '--to', 'lm@example.test', '--header', 'Subject: lmtp-forged',
    '--add-header', 'Authentication-Results: mail.example.test; dkim=pass header.d=forged.test',
    '--add-header', FOREIGN]);
  assert.equal(r.code, 0, r.out);
  const [msg] = await waitForMessages(server.ports.imaps, 'lm@example.test', PW, 1);
  const f = fields(msg);
  assert.ok(f.includes('X-Original-Authentication-Results: mail.example.test; dkim=pass header.d=forged.test'), f.join('\n'));
  assert.ok(!f.some((x) => /^Authentication-Results:.*forged\.test/.test(x)));
  assert.ok(f.includes(FOREIGN));
});

test('the filter gives the same bytes whatever the chunking', { timeout: 10000 }, () => {
  const input = Buffer.from([...FORGED, FOREIGN, 'Subject: x', '', 'Authentication-Results: mail.example.test; body', ''].join('\r\n'));
  const whole = new ForgedResultsFilter('mail.example.test');
  const expected = Buffer.concat([whole.push(input), whole.flush()]).toString('latin1');
  assert.equal((expected.match(/X-Original-/g) ?? []).length, 3);
  assert.match(expected, /\r\n\r\nAuthentication-Results: mail\.example\.test; body/);
  for (let cut = 0; cut <= input.length; cut++) {
    for (const step of [1, 7]) {
      const f = new ForgedResultsFilter('mail.example.test');
      const parts = [f.push(input.subarray(0, cut))];
      for (let i = cut; i < input.length; i += step) parts.push(f.push(input.subarray(i, Math.min(input.length, i + step))));
      parts.push(f.flush());
      assert.equal(Buffer.concat(parts).toString('latin1'), expected, `cut at ${cut}, step ${step}`);
    }
  }
});
