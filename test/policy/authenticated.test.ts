import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.js';
import { Spool } from '../../src/queue/spool.js';
import { AddressResolver } from '../../src/delivery/resolve.js';
import { LocalRecipients } from '../../src/delivery/local-recipients.js';
import { Resolver } from '../../src/dns/resolver.js';
import { Logger } from '../../src/log/logger.js';
import { loadConfig } from '../../src/config/load.js';
import { openMaps } from '../../src/maps/index.js';
import { Policy } from '../../src/policy/engine.js';

/**
 * What the policy does for an authenticated client (RFC 4954), on the real parts (config,
 * maps, SQLite users, resolution, spool), driven the way the SMTP session drives it; the SMTP
 * AUTH command itself belongs to the submission work, which tells the policy who logged in.
 */

const dir = mkdtempSync(join(tmpdir(), 'correo-authpol-'));
writeFileSync(join(dir, 'access'), '192.0.2.66 REJECT\n');
writeFileSync(join(dir, 'correo.toml'), `hostname = "mail.example.test"
data_dir = "${join(dir, 'data')}"
domains = ["example.test"]
[maps]
access = "${join(dir, 'access')}"
[policy]
delay_checks = true
user_messages = 2
user_recipients = 3
[dns]
servers = ["127.0.0.1:9"]
timeout = 200
`);
const config = loadConfig(join(dir, 'correo.toml'));
const log = new Logger(config.hostname, 20, join(dir, 'mail.log'));
const stores = openStore({ dataDir: config.data_dir, writer: 'thread' });
const store = stores.mailboxes;
const maps = openMaps(config, log);
const recipients = new LocalRecipients(new AddressResolver(config, (a) => stores.users.has(a), log, maps));
const policy = new Policy({ config, maps, recipients, dns: new Resolver(config.dns.servers, config.dns.timeout), log });
const spool = new Spool({ queue: stores.queue, blobs: stores.blobs, signal: stores.queueSignal, log, minFreeBytes: 0, fastPath: null });

test.after(async () => {
  policy.close();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

test('an authenticated client may relay, and wins over a refused address under delay_checks', { timeout: 20000 }, async () => {
  await store.createUser('usr@example.test', 'x');
  const stranger = policy.session({ ip: '192.0.2.66', name: null });
  await stranger.mail('a@remote.test');
  const refused = await stranger.rcpt('usr@example.test');
  assert.equal(refused.ok, false);
  assert.deepEqual(refused.ok ? null : [refused.code, refused.text], [550, 'Access denied']);

  const user = policy.session({ ip: '192.0.2.66', name: null });
  user.authenticated('usr@example.test');
  assert.equal(await user.mail('usr@example.test'), null);
  assert.deepEqual(await user.rcpt('usr@example.test'), { ok: true, address: 'usr@example.test', local: true });
  assert.deepEqual(await user.rcpt('friend@remote.test'), { ok: true, address: 'friend@remote.test', local: false });
  assert.ok(user.ledger.entries.some((e) => e.check === 'delay_checks' && /client authenticated as usr@example\.test/.test(e.detail)));
  assert.ok(user.ledger.entries.some((e) => e.check === 'relay' && e.outcome === 'relay'));
});

test('per-user limits count the user, wherever they connect from', { timeout: 20000 }, async () => {
  const a = policy.session({ ip: '198.51.100.1', name: null });
  a.authenticated('limited@example.test');
  assert.equal(await a.mail('limited@example.test'), null);
  for (const r of ['x1@remote.test', 'x2@remote.test', 'x3@remote.test']) assert.equal((await a.rcpt(r)).ok, true);
  const fourth = await a.rcpt('x4@remote.test');
  assert.deepEqual(fourth.ok ? null : [fourth.code, fourth.enhanced], [451, '4.7.1']);
  const b = policy.session({ ip: '203.0.113.9', name: null });
  b.authenticated('limited@example.test');
  assert.equal(await b.mail('limited@example.test'), null);
  const third = await b.mail('limited@example.test');
  assert.equal(third?.text, 'Error: too many messages from limited@example.test; try again later');
});

test('authwarnings: a user sending as someone else gets X-Authentication-Warning; no sender-auth checks for them', { timeout: 20000 }, async () => {
  const s = policy.session({ ip: '192.0.2.7', name: null });
  s.authenticated('usr@example.test');
  await s.mail('boss@example.test');
  assert.equal((await s.rcpt('usr@example.test')).ok, true);
  const envelope = { sender: 'boss@example.test', recipients: [{ address: 'usr@example.test' }], clientAddress: '192.0.2.7', helo: 'pc.test', via: 'smtp' };
  const writer = s.data(envelope, await spool.begin(envelope, 'Received: from pc.test\r\n'));
  await writer.write(Buffer.from('From: boss@example.test\r\nSubject: as the boss\r\n\r\nhi\r\n'));
  assert.equal(await s.endOfData(), null);
  await writer.commit();
  const text = (await stores.blobs.read(writer.id)).toString('utf8');
  assert.match(text, /^Return-Path: <boss@example\.test>\r\nReceived: from pc\.test\r\nX-Authentication-Warning: mail\.example\.test: usr@example\.test set sender to boss@example\.test using SMTP AUTH\r\nFrom: boss@example\.test\r\n/);
  assert.doesNotMatch(text, /Authentication-Results/);
});

test('a trace field added after a large message reached the disk: the file is rewritten whole, fsync\'d, head first', { timeout: 20000 }, async () => {
  const s = policy.session({ ip: '192.0.2.8', name: null });
  s.authenticated('usr@example.test');
  await s.mail('boss@example.test');
  await s.rcpt('usr@example.test');
  const envelope = { sender: 'boss@example.test', recipients: [{ address: 'usr@example.test' }], clientAddress: '192.0.2.8', helo: 'pc.test', via: 'smtp' };
  const writer = s.data(envelope, await spool.begin(envelope, 'Received: from pc.test\r\n'));
  const body = Buffer.alloc(700 * 1024, 'a');
  for (let i = 0; i < body.length; i += 1000) body.write('\r\n', i);
  const message = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), body]);
  for (let i = 0; i < message.length; i += 64 * 1024) await writer.write(message.subarray(i, i + 64 * 1024));
  assert.equal(await s.endOfData(), null);
  await writer.commit();
  const text = await stores.blobs.read(writer.id);
  const head = 'Return-Path: <boss@example.test>\r\nReceived: from pc.test\r\nX-Authentication-Warning: mail.example.test: usr@example.test set sender to boss@example.test using SMTP AUTH\r\n';
  assert.equal(text.subarray(0, head.length).toString(), head);
  assert.ok(text.subarray(head.length).equals(message), 'the message follows intact');
  assert.equal(writer.size, text.length, 'the recorded size counts the added field');
});
