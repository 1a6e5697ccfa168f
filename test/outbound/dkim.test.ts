import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink } from '../helpers/sink.js';
import { verifyDkim } from '../dkim/verify.js';
import { startWorld } from './world.js';
import { needs } from '../helpers/peers.js';

const SENDER = 'ana@example.test';

/** The TXT value from `correo dkim keygen`'s zone line. */
function txtOf(out: string): { name: string; value: string } {
  const m = /^(\S+)\. IN TXT \( (.*) \)$/m.exec(out);
  assert.ok(m, out);
  return { name: m[1], value: [...m[2].matchAll(/"([^"]*)"/g)].map((x) => x[1]).join('') };
}

for (const algorithm of ['rsa', 'ed25519'] as const) {
  test(`DKIM (${algorithm}): "correo dkim keygen" makes the key, outbound mail from our domain is signed, an independent verifier (mailauth) passes it`, { timeout: 60_000, ...needs('dnsmasq') }, async () => {
    const sink = await startSink();
    const w = await startWorld({
      dns: ['--mx-host=remote.test,mx.remote.test,10', `--host-record=mx.remote.test,${sink.host}`],
      toml: `[outbound]\nport = ${sink.port}\n[dkim."example.test"]\nselector = "s2026"`,
      aliases: 'out: bob@remote.test\nfwd: carol@remote.test\n',
    });
    try {
      const kg = await w.server.cli(['dkim', 'keygen', 'example.test', '--selector', 's2026', '--algorithm', algorithm]);
      assert.equal(kg.code, 0, kg.stderr);
      assert.match(kg.stdout, new RegExp(`wrote ${w.server.dir.replace(/[.]/g, '\\.')}/dkim/example\\.test\\.s2026\\.key`));
      const rec = txtOf(kg.stdout);
      assert.equal(rec.name, 's2026._domainkey.example.test');
      const again = await w.server.cli(['dkim', 'keygen', 'example.test', '--selector', 's2026']);
      assert.notEqual(again.code, 0, 'an existing key is never overwritten');
      const shown = await w.server.cli(['dkim', 'record', 'example.test']);
      assert.deepEqual(txtOf(shown.stdout), rec, '"dkim record" prints the same record again');

      await w.send({
        from: SENDER, to: ['out@example.test'],
        raw: `From: Ana <${SENDER}>\r\nTo: out@example.test\r\nSubject: signed\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <dk1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nHola,  ñandú \t\r\n.dot\r\n\r\n\r\n`,
      });
      // Mail from someone else's domain passing through an alias is not ours to sign.
      await w.send({ from: 'x@elsewhere.example', to: ['fwd@example.test'], raw: 'From: x@elsewhere.example\r\nSubject: not ours\r\n\r\nhi\r\n' });
      const got = await sink.waitFor(2);
      const mine = got.find((m) => m.rcpts[0].address === 'bob@remote.test')!;
      const theirs = got.find((m) => m.rcpts[0].address === 'carol@remote.test')!;
      assert.match(mine.data.toString(), /^DKIM-Signature: v=1; a=(rsa|ed25519)-sha256; c=relaxed\/relaxed; d=example\.test;\s+s=s2026;/);
      const [r] = await verifyDkim(mine.data, { [rec.name]: rec.value });
      assert.equal(r.status.result, 'pass', r.status.comment);
      assert.equal(r.algo, `${algorithm}-sha256`);
      assert.ok(!theirs.data.toString().includes('DKIM-Signature'), 'no signature on foreign mail');
    } finally {
      await w.stop();
      await sink.close();
    }
  });
}

test('a server without 8BITMIME gets the 8-bit body as quoted-printable, and the DKIM signature covers what it got', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const sink = await startSink({ extensions: ['PIPELINING', 'SIZE 1000000'] });
  const w = await startWorld({
    dns: ['--mx-host=remote.test,mx.remote.test,10', `--host-record=mx.remote.test,${sink.host}`],
    toml: `[outbound]\nport = ${sink.port}\n[dkim."example.test"]\nselector = "s1"`,
    aliases: 'out: bob@remote.test\n',
  });
  try {
    const kg = await w.server.cli(['dkim', 'keygen', 'example.test', '--selector', 's1', '--algorithm', 'ed25519']);
    const rec = txtOf(kg.stdout);
    await w.send({
      from: SENDER, to: ['out@example.test'],
      raw: `From: <${SENDER}>\r\nSubject: eight\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCañón = größer\r\n`,
    });
    const [m] = await sink.waitFor(1);
    assert.ok(!m.mailParams.includes('BODY=8BITMIME'), 'no BODY=8BITMIME to a server that lacks it');
    assert.ok(m.raw.every((b) => b < 128), 'RFC 6152: no 8-bit octet on the wire');
    const text = m.data.toString('latin1');
    assert.match(text, /Content-Transfer-Encoding: quoted-printable\r\n\r\nCa=C3=B1=C3=B3n =3D gr=C3=B6=C3=9Fer\r\n$/);
    const [r] = await verifyDkim(m.data, { [rec.name]: rec.value });
    assert.equal(r.status.result, 'pass', r.status.comment);
    await w.waitForLog(/converted to 7 bit/);
  } finally {
    await w.stop();
    await sink.close();
  }
});
