import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink } from '../helpers/sink.js';
import { startWorld, until, PASSWORD } from './world.js';
import { needs } from '../helpers/peers.js';

const SENDER = 'sender@example.test';
const msg = (id: string) => `From: <${SENDER}>\r\nTo: list@example.test\r\nSubject: test ${id}\r\nMessage-ID: <${id}@example.test>\r\n\r\nbody of ${id}\r\n`;

/** The per-recipient block of a DSN's message/delivery-status part for `rcpt`. */
function block(dsn: string, rcpt: string): string {
  const i = dsn.indexOf(`Final-Recipient: rfc822; ${rcpt}`);
  assert.ok(i >= 0, `no Final-Recipient ${rcpt} in:\n${dsn}`);
  const start = dsn.lastIndexOf('\r\n\r\n', i) + 4;
  return dsn.slice(start, dsn.indexOf('\r\n\r\n', i));
}

test('550 from the remote: a DSN in the sender\'s INBOX now (Diagnostic-Code, Remote-MTA, Original-Recipient); null MX bounces 5.1.10', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const sink = await startSink({ rcptReply: (a) => (a.startsWith('nobody@') ? '550 5.1.1 <nobody@remote.test>: no such user' : null) });
  const w = await startWorld({
    dns: ['--mx-host=remote.test,mx.remote.test,10', `--host-record=mx.remote.test,${sink.host}`, '--mx-host=null.test,.,0'],
    toml: `[outbound]\nport = ${sink.port}`,
    aliases: 'list: nobody@remote.test, fine@remote.test, gone@null.test\n',
    users: [SENDER],
  });
  try {
    await w.send({ from: SENDER, to: ['list@example.test'], raw: msg('b550') });
    const [m] = await sink.waitFor(1);
    assert.deepEqual(m.rcpts.map((r) => r.address), ['fine@remote.test'], 'the accepted recipient still gets it');
    await w.waitForLog(/to=<nobody@remote\.test>.*relay=mx\.remote\.test\[.*dsn=5\.1\.1, status=bounced \(host mx\.remote\.test\[[\d.]+\]:\d+ said: 550 5\.1\.1 <nobody@remote\.test>: no such user\)/);
    await w.waitForLog(/to=<gone@null\.test>.*dsn=5\.1\.10, status=bounced \(domain null\.test accepts no mail \(null MX, RFC 7505\)\)/);
    const box = await until('two DSNs', async () => {
      const b = await w.inbox(SENDER, PASSWORD);
      return b.length >= 2 ? b : false;
    });
    const remote = box.find((d) => d.includes('nobody@remote.test'))!;
    assert.match(remote, /^Return-Path: <>\r\n/m);
    assert.match(remote, /^From: Mail Delivery System <MAILER-DAEMON@mail\.example\.test>/m);
    assert.match(remote, /Content-Type: multipart\/report; report-type=delivery-status/);
    const b = block(remote, 'nobody@remote.test');
    assert.match(b, /^Original-Recipient: rfc822;list@example\.test$/m);
    assert.match(b, /^Action: failed$/m);
    assert.match(b, /^Status: 5\.1\.1$/m);
    assert.match(b, /^Remote-MTA: dns; mx\.remote\.test$/m);
    assert.match(b, /^Diagnostic-Code: smtp; 550 5\.1\.1 <nobody@remote\.test>: no such user$/m);
    assert.match(remote, /Message-ID: <b550@example\.test>/, 'the original is attached');
    assert.ok(!remote.includes('fine@remote.test'), 'only failed recipients are reported');
    const nul = box.find((d) => d.includes('gone@null.test'))!;
    assert.match(block(nul, 'gone@null.test'), /^Status: 5\.1\.10$/m);
    await until('queue empty', async () => (await w.server.cli(['queue', 'list'])).stdout.includes('Mail queue is empty'));
  } finally {
    await w.stop();
    await sink.close();
  }
});

test('451 then success: the message is retried after retry_initial and delivered once', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const sink = await startSink({ dataReply: (n) => (n === 1 ? '451 4.3.0 try again later' : null) });
  const w = await startWorld({
    dns: ['--mx-host=remote.test,mx.remote.test,10', `--host-record=mx.remote.test,${sink.host}`],
    toml: `[outbound]\nport = ${sink.port}\nretry_initial = 1\nretry_max = 2`,
    aliases: 'list: bob@remote.test\n',
    users: [SENDER],
  });
  try {
    await w.send({ from: SENDER, to: ['list@example.test'], raw: msg('r451') });
    await w.waitForLog(/to=<bob@remote\.test>.*tries=1, dsn=4\.3\.0, status=deferred \(host mx\.remote\.test\[[\d.]+\]:\d+ said: 451 4\.3\.0 try again later\)/);
    const [m] = await sink.waitFor(1, 15_000);
    assert.match(m.data.toString(), /Message-ID: <r451@example\.test>/);
    await w.waitForLog(/to=<bob@remote\.test>.*tries=2, dsn=2\.0\.0, status=sent/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(sink.messages.length, 1, 'delivered once');
    assert.equal((await w.inbox(SENDER, PASSWORD)).length, 0, 'no DSN for a message that got through');
  } finally {
    await w.stop();
    await sink.close();
  }
});

test('a recipient that keeps getting 4xx: one "delayed" DSN after delay_warning, then a failed DSN (4.4.7) after give_up', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const sink = await startSink({ rcptReply: () => '452 4.2.2 mailbox full' });
  const w = await startWorld({
    dns: ['--mx-host=remote.test,mx.remote.test,10', `--host-record=mx.remote.test,${sink.host}`],
    toml: `[outbound]\nport = ${sink.port}\nretry_initial = 1\nretry_max = 1\ndelay_warning = 1\ngive_up = 5`,
    aliases: 'list: full@remote.test\n',
    users: [SENDER],
  });
  try {
    const sent = Date.now();
    await w.send({ from: SENDER, to: ['list@example.test'], raw: msg('giveup') });
    await w.waitForLog(/to=<full@remote\.test>.*dsn=4\.4\.7, status=bounced \(gave up after/, 30_000);
    assert.ok(Date.now() - sent >= 4000, 'not before give_up');
    const box = await until('two DSNs', async () => {
      const b = await w.inbox(SENDER, PASSWORD);
      return b.length >= 2 ? b : false;
    });
    const delayed = box.filter((d) => /^Subject: Delayed Mail/m.test(d));
    assert.equal(delayed.length, 1, 'exactly one delay warning');
    const db = block(delayed[0], 'full@remote.test');
    assert.match(db, /^Action: delayed$/m);
    assert.match(db, /^Status: 4\.2\.2$/m);
    assert.match(db, /^Will-Retry-Until: /m);
    assert.match(delayed[0], /Content-Type: text\/rfc822-headers/, 'a delay report carries the headers only');
    const failed = box.find((d) => /^Subject: Undelivered Mail/m.test(d))!;
    const fb = block(failed, 'full@remote.test');
    assert.match(fb, /^Action: failed$/m);
    assert.match(fb, /^Status: 4\.4\.7$/m);
    assert.match(fb, /^Diagnostic-Code: smtp; 452 4\.2\.2 mailbox full$/m);
    assert.equal(sink.messages.length, 0);
    await until('queue empty', async () => (await w.server.cli(['queue', 'list'])).stdout.includes('Mail queue is empty'));
  } finally {
    await w.stop();
    await sink.close();
  }
});

test('RFC 3461 end to end: NOTIFY/ORCPT/RET/ENVID passed on to a DSN server; NOTIFY=SUCCESS to a server without DSN gets "relayed"; NOTIFY=NEVER no bounce', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const dsnSink = await startSink();
  const plainSink = await startSink({ extensions: ['PIPELINING', '8BITMIME'], rcptReply: (a) => (a.startsWith('never@') ? '550 5.1.1 no' : null) });
  const mt = `dsn.test smtp:[${dsnSink.host}]:${dsnSink.port}\nplain.test smtp:[${plainSink.host}]:${plainSink.port}\n`;
  const w = await startWorld({ mailertable: mt, users: [SENDER], aliases: 'a: bob@dsn.test\nb: carol@plain.test\nc: never@plain.test\n' });
  try {
    await w.send({ from: SENDER, to: ['a@example.test'], raw: msg('d1'), dsn: { ret: 'HDRS', envid: 'env+id 1', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;orig@example.test' } });
    const [m] = await dsnSink.waitFor(1);
    assert.match(m.mailParams, /RET=HDRS/);
    assert.match(m.mailParams, /ENVID=env\+2Bid\+201/, 'ENVID as xtext');
    assert.match(m.rcpts[0].params, /NOTIFY=SUCCESS,FAILURE/);
    assert.match(m.rcpts[0].params, /ORCPT=rfc822;orig@example\.test/);

    await w.send({ from: SENDER, to: ['b@example.test'], raw: msg('d2'), dsn: { notify: ['SUCCESS'] } });
    await plainSink.waitFor(1);
    const relayed = await until('relayed DSN', async () => (await w.inbox(SENDER, PASSWORD)).find((d) => /Action: relayed/.test(d)));
    assert.match(block(relayed, 'carol@plain.test'), /^Status: 2\.0\.0$/m);
    assert.match(relayed, /^Subject: Successful Mail Delivery Report/m);

    await w.send({ from: SENDER, to: ['c@example.test'], raw: msg('d3'), dsn: { notify: ['NEVER'] } });
    await w.waitForLog(/to=<never@plain\.test>.*status=bounced/);
    await new Promise((r) => setTimeout(r, 1000));
    const box = await w.inbox(SENDER, PASSWORD);
    assert.equal(box.length, 1, 'only the relayed report; nothing for NOTIFY=NEVER and nothing from the DSN-capable server');
  } finally {
    await w.stop();
    await dsnSink.close();
    await plainSink.close();
  }
});
