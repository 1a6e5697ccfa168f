import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer } from '../helpers/server.js';
import { RawSmtp } from './client.js';

test('max_connections: the connection past the limit gets 421 4.3.2 and is closed; a freed slot is usable', { timeout: 60000 }, async () => {
  const server = await startServer({ toml: '[smtp]\nmax_connections = 2\n' });
  const open: RawSmtp[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const c = await RawSmtp.connect(server.ports.smtp);
      open.push(c);
      assert.equal((await c.reply()).code, 220);
    }
    const third = await RawSmtp.connect(server.ports.smtp);
    open.push(third);
    assert.match(await third.waitClosed(), /^421 4\.3\.2 mail\.example\.test Error: too many connections; try again later\r\n$/);
    assert.equal((await open[0].cmd('QUIT')).code, 221);
    await open[0].waitClosed();
    await sleep(200);
    const fourth = await RawSmtp.connect(server.ports.smtp);
    open.push(fourth);
    assert.equal((await fourth.reply()).code, 220);
    assert.equal((await fourth.cmd('EHLO x.test')).code, 250);
  } finally {
    for (const c of open) c.destroy();
    await server.stop();
  }
});

test('with novrfy/noexpn turned off, VRFY and EXPN answer from the recipient checks', { timeout: 60000 }, async () => {
  const server = await startServer({ toml: '[smtp]\nnovrfy = false\nnoexpn = false\n' });
  try {
    await server.addUser('usr@example.test', 'pw-vrfy');
    const c = await RawSmtp.connect(server.ports.smtp);
    try {
      await c.reply();
      assert.equal((await c.cmd('EHLO x.test')).code, 250);
      assert.equal((await c.cmd('VRFY usr@example.test')).lines[0], '250 2.1.5 <usr@example.test>');
      assert.equal((await c.cmd('VRFY <usr@example.test>')).lines[0], '250 2.1.5 <usr@example.test>');
      assert.match((await c.cmd('VRFY nobody@example.test')).lines[0], /^550 5\.1\.1 /);
      assert.match((await c.cmd('VRFY someone@remote.test')).lines[0], /^550 5\.7\.1 /);
      assert.equal((await c.cmd('VRFY')).lines[0], '501 5.5.4 Syntax: VRFY address');
      assert.equal((await c.cmd('EXPN usr@example.test')).lines[0], '250 2.1.5 <usr@example.test>');
    } finally {
      c.destroy();
    }
  } finally {
    await server.stop();
  }
});
