import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort } from '../helpers/ports.js';
import { randomLoopback } from '../helpers/sink.js';
import { verifyDkim } from '../dkim/verify.js';
import { startPostfix } from './postfix.js';
import { startWorld, until } from './world.js';
import { needs } from '../helpers/peers.js';

/**
 * Interoperability: Postfix from Debian, as the remote MX, takes what Correo relays: over
 * opportunistic STARTTLS, with PIPELINING, 8BITMIME and DSN parameters, DKIM-signed.
 * One test (Postfix takes a few seconds to start), bounded.
 */
test('Postfix accepts mail relayed by Correo (STARTTLS, 8BITMIME, DKIM intact, unknown user bounced by Postfix back to our sender)', { timeout: 120_000, ...needs('dnsmasq', 'postfix') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-postfix-'));
  const host = randomLoopback();
  const port = await freeTcpPort(host);
  const pf = await startPostfix(dir, host, port, 'remote.test', ['bob']);
  let w: Awaited<ReturnType<typeof startWorld>> | null = null;
  try {
    w = await startWorld({
      dns: ['--mx-host=remote.test,mx.remote.test,10', `--host-record=mx.remote.test,${host}`],
      toml: `[outbound]\nport = ${port}\n[dkim."example.test"]\nselector = "pf"`,
      aliases: 'out: bob@remote.test, nobody@remote.test\n',
      users: ['ana@example.test'],
    });
    const kg = await w.server.cli(['dkim', 'keygen', 'example.test', '--selector', 'pf']);
    const txt = [...kg.stdout.matchAll(/"([^"]*)"/g)].map((m) => m[1]).join('');
    await w.send({
      from: 'ana@example.test', to: ['out@example.test'],
      raw: 'From: Ana <ana@example.test>\r\nTo: out@example.test\r\nSubject: to postfix\r\nMessage-ID: <pf1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nÀ bientôt.\r\n.leading dot\r\n',
    });
    const [got] = await until('Postfix delivered to the Maildir', () => {
      const d = pf.delivered('bob');
      return d.length ? d : false;
    }, 60_000);
    assert.match(got, /Received: from mail\.example\.test \(unknown \[[\d.]+\]\)\n\s+by mx\.remote\.test \(Postfix\) with ESMTPS id/, 'Postfix saw STARTTLS (ESMTPS, RFC 3848)');
    assert.match(got, /\n\.leading dot\n/, 'the dot line arrives intact');
    assert.match(got, /À bientôt\./, '8-bit text intact (BODY=8BITMIME)');
    // The Maildir file has LF line ends; headers Postfix added on top are not signed.
    const crlf = Buffer.from(got.replace(/\r?\n/g, '\r\n'), 'utf8');
    const [r] = await verifyDkim(crlf, { 'pf._domainkey.example.test': txt });
    assert.equal(r.status.result, 'pass', r.status.comment);
    await w.waitForLog(/to=<bob@remote\.test>.*relay=mx\.remote\.test\[[\d.]+\]:\d+.*status=sent \(250 2\.0\.0 Ok: queued as \w+\)/);
    // Postfix refuses the unknown user at RCPT: 550 5.1.1, bounced by Correo to our sender.
    await w.waitForLog(/to=<nobody@remote\.test>.*dsn=5\.1\.1, status=bounced \(host mx\.remote\.test\[[\d.]+\]:\d+ said: 550 5\.1\.1 <nobody@remote\.test>: Recipient address rejected/);
    const log = readFileSync(pf.maillog, 'utf8');
    assert.match(log, /TLS connection established from/);
    assert.match(log, /to=<bob@remote\.test>.*status=sent \(delivered to maildir\)/);
  } finally {
    await w?.stop();
    await pf.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
