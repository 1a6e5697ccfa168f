import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSendmailArgs, SendmailUsage } from '../../src/cli/sendmail-args.js';
import { cutAtDot, headerRecipients } from '../../src/cli/sendmail.js';

test('sendmail options: bundled flags, attached and separate values, -o options ignored without eating recipients', () => {
  const a = parseSendmailArgs(['-ti', '-fsender@x.test', '-F', 'Cron Daemon', '-oem', '-odb', '-oi', '-v', 'a@x.test', 'b@y.test,c@z.test']);
  assert.deepEqual(a, { mode: 'deliver', extract: true, ignoreDots: true, sender: 'sender@x.test', fullName: 'Cron Daemon', recipients: ['a@x.test', 'b@y.test', 'c@z.test'], config: null });
  const b = parseSendmailArgs(['-oi', '-f', '<>', '-O', 'DeliveryMode=b', '-N', 'success,failure', '-R', 'hdrs', '-V', 'env1', '--', '-odd@x.test']);
  assert.equal(b.sender, '');
  assert.equal(b.ignoreDots, true);
  assert.deepEqual(b.notify, ['SUCCESS', 'FAILURE']);
  assert.equal(b.ret, 'HDRS');
  assert.equal(b.envid, 'env1');
  assert.deepEqual(b.recipients, ['-odd@x.test'], 'after -- everything is a recipient');
  assert.equal(parseSendmailArgs(['-bs']).mode, 'smtp');
  assert.equal(parseSendmailArgs(['-bp']).mode, 'print');
  assert.equal(parseSendmailArgs([], 'mailq').mode, 'print');
  assert.equal(parseSendmailArgs(['-q30m']).mode, 'queue-run');
  assert.equal(parseSendmailArgs(['-C', '/etc/x.toml', 'u']).config, '/etc/x.toml');
  assert.equal(parseSendmailArgs(['--config=/etc/y.toml']).config, '/etc/y.toml');
  assert.equal(parseSendmailArgs(['-r', 'bounce@x.test']).sender, 'bounce@x.test');
  assert.throws(() => parseSendmailArgs(['-Z']), SendmailUsage);
  assert.throws(() => parseSendmailArgs(['-f']), /requires an argument/);
  assert.throws(() => parseSendmailArgs(['-bd']), /not supported/);
  assert.throws(() => parseSendmailArgs(['-N', 'sometimes']), SendmailUsage);
});

test('-t takes To, Cc and Bcc (or only the Resent- ones when present); a lone dot ends the input unless -i', () => {
  const m = Buffer.from('From: me\r\nTo: "A, B" <a@x.test>, b\r\nCc: c@x.test\r\nBcc: d@x.test\r\nSubject: To: e@x.test\r\n\r\nTo: f@x.test\r\n');
  assert.deepEqual(headerRecipients(m), ['a@x.test', 'b', 'c@x.test', 'd@x.test']);
  const r = Buffer.from('To: a@x.test\r\nResent-To: r@x.test\r\nResent-Bcc: s@x.test\r\n\r\n');
  assert.deepEqual(headerRecipients(r), ['r@x.test', 's@x.test']);
  assert.equal(cutAtDot(Buffer.from('a\n.\nb\n')).toString(), 'a\n');
  assert.equal(cutAtDot(Buffer.from('.\nb\n')).toString(), '');
  assert.equal(cutAtDot(Buffer.from('a\n..\nb\n.')).toString(), 'a\n..\nb\n');
  assert.equal(cutAtDot(Buffer.from('a\n.x\n')).toString(), 'a\n.x\n');
});
