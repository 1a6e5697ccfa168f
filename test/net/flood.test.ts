import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.js';
import { Probe, openMany } from './probe.js';

/**
 * Issue 9 item 6: floods of idle connections. Each flood is refused in its protocol's words
 * once one address holds its share, while another address (127.0.0.2) still gets in; the MTA
 * and submission have separate budgets; implicit-TLS ports refuse over TLS. Loopback is not
 * exempt: these run with the limits a server on the open Internet would have.
 */

function closeAll(list: Probe[]): void {
  for (const p of list) p.destroy();
}

test('SMTP flood from one address: 421 4.7.0 past max_connections_per_address, another address still greeted', { timeout: 60_000 }, async () => {
  const server = await startServer({ toml: '[smtp]\nmax_connections_per_address = 5\n' });
  const open: Probe[] = [];
  try {
    open.push(...(await openMany(5, server.ports.smtp)));
    for (const p of open) assert.match(p.text, /^220 /);
    const extra = await Probe.connect(server.ports.smtp);
    open.push(extra);
    assert.match(await extra.closedBy(), /^421 4\.7\.0 mail\.example\.test Error: too many connections from your address; try again later\r\n$/);
    const other = await Probe.connect(server.ports.smtp, { localAddress: '127.0.0.2' });
    open.push(other);
    assert.match(await other.firstLine(), /^220 /);
    // The refused client's slot is not taken: one closes, the next from that address gets in.
    open[0].destroy();
    const again = await waitGreeted(server.ports.smtp, /^220 /);
    open.push(again);
  } finally {
    closeAll(open);
    await server.stop();
  }
});

test('an MTA flood leaves submission usable: separate budgets for port 25 and 587/465', { timeout: 60_000 }, async () => {
  const server = await startServer({ toml: '[smtp]\nmax_connections = 4\n' });
  const open: Probe[] = [];
  try {
    for (const a of ['127.0.0.3', '127.0.0.4']) open.push(...(await openMany(2, server.ports.smtp, { localAddress: a })));
    const full = await Probe.connect(server.ports.smtp, { localAddress: '127.0.0.5' });
    open.push(full);
    assert.match(await full.closedBy(), /^421 4\.3\.2 /);
    const msa = await Probe.connect(server.ports.submission, { localAddress: '127.0.0.5' });
    open.push(msa);
    assert.match(await msa.firstLine(), /^220 /);
    const msaTls = await Probe.connect(server.ports.submissions, { tls: true, localAddress: '127.0.0.5' });
    open.push(msaTls);
    assert.match(await msaTls.firstLine(), /^220 /);
  } finally {
    closeAll(open);
    await server.stop();
  }
});

test('port 465 refuses over TLS (RFC 8314): the 421 arrives inside the TLS session, never in clear', { timeout: 60_000 }, async () => {
  const server = await startServer({ toml: '[submission]\nmax_connections_per_address = 2\n' });
  const open: Probe[] = [];
  try {
    open.push(...(await openMany(2, server.ports.submissions, { tls: true })));
    const refused = await Probe.connect(server.ports.submissions, { tls: true });
    open.push(refused);
    assert.match(await refused.closedBy(), /^421 4\.7\.0 mail\.example\.test Error: too many connections from your address; try again later\r\n$/);
  } finally {
    closeAll(open);
    await server.stop();
  }
});

test('IMAP flood with the default limits: BYE past 50 from one address, 127.0.0.2 still greeted; IMAPS likewise over TLS', { timeout: 120_000 }, async () => {
  const server = await startServer();
  const open: Probe[] = [];
  try {
    open.push(...(await openMany(50, server.ports.imap)));
    const extra = await Probe.connect(server.ports.imap);
    open.push(extra);
    assert.match(await extra.closedBy(), /^\* BYE \[UNAVAILABLE\] too many connections from your address\r\n$/);
    const other = await Probe.connect(server.ports.imap, { localAddress: '127.0.0.2' });
    open.push(other);
    assert.match(await other.firstLine(), /^\* OK /);
    open.push(...(await openMany(50, server.ports.imaps, { tls: true, localAddress: '127.0.0.6' })));
    const extraTls = await Probe.connect(server.ports.imaps, { tls: true, localAddress: '127.0.0.6' });
    open.push(extraTls);
    assert.match(await extraTls.closedBy(), /^\* BYE \[UNAVAILABLE\] too many connections from your address\r\n$/);
    // SMTP is unaffected by a hundred idle IMAP connections.
    const smtp = await Probe.connect(server.ports.smtp, { localAddress: '127.0.0.6' });
    open.push(smtp);
    assert.match(await smtp.firstLine(), /^220 /);
  } finally {
    closeAll(open);
    await server.stop();
  }
});

test('POP3 refuses past the per-address limit, IMAP past the per-minute rate of new connections', { timeout: 60_000 }, async () => {
  const server = await startServer({ toml: '[pop3]\nmax_connections_per_address = 3\n[imap]\nmax_connection_rate = 2\n' });
  const open: Probe[] = [];
  try {
    open.push(...(await openMany(3, server.ports.pop3)));
    const extra = await Probe.connect(server.ports.pop3);
    open.push(extra);
    assert.equal(await extra.closedBy(), '-ERR [SYS/TEMP] Too many connections from your address; try again later\r\n');
    const other = await Probe.connect(server.ports.pop3, { localAddress: '127.0.0.2' });
    open.push(other);
    assert.match(await other.firstLine(), /^\+OK /);
    // Two new IMAP connections a minute from one address; the third is refused though only two are open.
    open.push(...(await openMany(2, server.ports.imap)));
    const third = await Probe.connect(server.ports.imap);
    open.push(third);
    assert.equal(await third.closedBy(), '* BYE [UNAVAILABLE] too many connections from your address\r\n');
    const elsewhere = await Probe.connect(server.ports.imap, { localAddress: '127.0.0.2' });
    open.push(elsewhere);
    assert.match(await elsewhere.firstLine(), /^\* OK /);
  } finally {
    closeAll(open);
    await server.stop();
  }
});

test('the global budget ([limits] max_connections) holds across services: full means a prompt refusal, not a hang', { timeout: 60_000 }, async () => {
  const server = await startServer({ toml: '[limits]\nmax_connections = 6\n' });
  const open: Probe[] = [];
  try {
    for (const a of ['127.0.0.7', '127.0.0.8', '127.0.0.9']) open.push(...(await openMany(2, server.ports.imap, { localAddress: a })));
    const smtp = await Probe.connect(server.ports.smtp, { localAddress: '127.0.0.10' });
    open.push(smtp);
    assert.match(await smtp.closedBy(), /^421 4\.3\.2 /);
    const imaps = await Probe.connect(server.ports.imaps, { tls: true, localAddress: '127.0.0.10' }).catch((e: Error) => e);
    if (imaps instanceof Probe) {
      open.push(imaps);
      assert.equal(await imaps.closedBy(), '', 'no TLS work and no words for a refusal when descriptors run out');
    }
    open.shift()!.destroy();
    open.push(await waitGreeted(server.ports.smtp, /^220 /, '127.0.0.10'));
  } finally {
    closeAll(open);
    await server.stop();
  }
});

/** Connects until a greeting matching `re` comes (a freed slot is released when the server sees the close). */
async function waitGreeted(port: number, re: RegExp, localAddress?: string): Promise<Probe> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const p = await Probe.connect(port, { localAddress });
    const line = await p.firstLine().catch(() => '');
    if (re.test(line)) return p;
    p.destroy();
    if (Date.now() > deadline) throw new Error(`no greeting matching ${re} within 10 s; last: ${line}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
