import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type TestServer } from '../helpers/server.js';
import { RawSmtp } from '../smtp/client.js';
import { codes, message, talk } from './smtp.js';

/**
 * Rate limits per client address (connections, messages, recipients per window) answered
 * with 4xx; greylisting (off by default) on; S17 privacy flags: goaway implies novrfy/noexpn.
 */

let limited: TestServer;
let grey: TestServer;

test.before(async () => {
  [limited, grey] = await Promise.all([
    startServer({ toml: '[policy]\nrate_window = 60\nclient_connections = 3\nclient_messages = 2\nclient_recipients = 3\ngoaway = true\n[smtp]\nnovrfy = false\nnoexpn = false\n' }),
    startServer({ toml: '[policy]\ngreylist = true\ngreylist_delay = 2\n' }),
  ]);
  for (const s of [limited, grey]) {
    await s.addUser('usr@example.test', 'pw-usr-1');
    await s.addUser('otro@example.test', 'pw-otro-1');
  }
});
test.after(async () => {
  await Promise.all([limited?.stop(), grey?.stop()]);
});

test('per-client limits: messages and recipients per window get 451 4.7.1, other clients are not affected', { timeout: 60000 }, async () => {
  const r = await talk(limited.ports.smtp, '127.0.0.20', [
    'EHLO c.test',
    'MAIL FROM:<a@remote.test>', 'RCPT TO:<usr@example.test>', 'RCPT TO:<otro@example.test>', 'DATA', message('a@remote.test', 'usr@example.test', 'one'),
    'MAIL FROM:<a@remote.test>', 'RCPT TO:<usr@example.test>', 'RCPT TO:<otro@example.test>',
    'RSET', 'MAIL FROM:<a@remote.test>',
  ]);
  const c = codes(r);
  assert.match(c[6], /^250 2\.0\.0 Ok: queued/);
  assert.equal(c[7], '250 2.1.0 Ok', 'second message in the window');
  assert.equal(c[8], '250 2.1.5 Ok', 'third recipient in the window');
  assert.equal(c[9], '451 4.7.1 Error: too many recipients from 127.0.0.20; try again later');
  assert.equal(c[11], '451 4.7.1 Error: too many messages from 127.0.0.20; try again later');
  const other = await talk(limited.ports.smtp, '127.0.0.21', ['EHLO c.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<usr@example.test>']);
  assert.equal(codes(other)[3], '250 2.1.5 Ok');
});

test('per-client connections per window: the fourth is closed with 421 4.7.0', { timeout: 60000 }, async () => {
  const open: RawSmtp[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const c = await RawSmtp.connect(limited.ports.smtp, '127.0.0.1', '127.0.0.30');
      await c.reply();
      assert.equal((await c.cmd('NOOP')).code, 250);
      open.push(c);
    }
    const fourth = await RawSmtp.connect(limited.ports.smtp, '127.0.0.1', '127.0.0.30');
    open.push(fourth);
    await fourth.reply();
    const r = await fourth.cmd('EHLO c.test');
    assert.equal(r.lines[0], '421 4.7.0 Error: too many connections from 127.0.0.30; try again later');
    await fourth.waitClosed();
  } finally {
    for (const c of open) c.destroy();
  }
});

test('goaway: VRFY and EXPN give nothing away even though [smtp] turned them on', { timeout: 60000 }, async () => {
  const r = await talk(limited.ports.smtp, '127.0.0.40', ['EHLO c.test', 'VRFY usr@example.test', 'EXPN postmaster@example.test']);
  assert.equal(codes(r)[2], '252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery');
  assert.equal(codes(r)[3], '502 5.5.1 Error: EXPN not available');
});

test('greylisting: the first attempt gets 451, a retry after the delay passes, and the triplet is remembered', { timeout: 60000 }, async () => {
  const tx = ['EHLO mta.remote.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<usr@example.test>'];
  assert.equal(codes(await talk(grey.ports.smtp, '127.0.0.50', tx))[3], '451 4.7.1 Greylisted; please try again in 2 seconds');
  assert.match(codes(await talk(grey.ports.smtp, '127.0.0.51', tx))[3], /^451 4\.7\.1 Greylisted; please try again in [12] seconds$/, 'same /24: same triplet, still waiting');
  await sleep(2200);
  assert.equal(codes(await talk(grey.ports.smtp, '127.0.0.50', tx))[3], '250 2.1.5 Ok');
  assert.equal(codes(await talk(grey.ports.smtp, '127.0.0.52', tx))[3], '250 2.1.5 Ok', 'remembered');
  const other = await talk(grey.ports.smtp, '127.0.0.50', ['EHLO mta.remote.test', 'MAIL FROM:<b@remote.test>', 'RCPT TO:<usr@example.test>']);
  assert.match(codes(other)[3], /^451 /, 'another sender is another triplet');
});
