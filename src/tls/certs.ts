import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { generate } from 'selfsigned';
import type { TlsConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';

/**
 * A usable certificate on first start: when the admin configured none, a self-signed pair
 * for the hostname is made in data_dir/tls and kept (clients that pin it keep working).
 */
export async function ensureCertificate(tls: TlsConfig, hostname: string, log: Logger): Promise<void> {
  if (!tls.self_signed) {
    for (const f of [tls.cert, tls.key]) if (!existsSync(f)) throw new Error(`TLS file ${f} does not exist ([tls] in the config)`);
    return;
  }
  if (existsSync(tls.cert) && existsSync(tls.key)) return;
  mkdirSync(dirname(tls.cert), { recursive: true });
  const notBefore = new Date(Date.now() - 3600_000);
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: new Date(notBefore.getTime() + 825 * 86400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: hostname }, { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  } as Parameters<typeof generate>[1]);
  writeFileSync(tls.key, pems.private, { mode: 0o600 });
  writeFileSync(tls.cert, pems.cert, { mode: 0o644 });
  log.notice(null, `tls: made a self-signed certificate for ${hostname} in ${tls.cert}; configure [tls] cert and key for a real one`);
}

/** The TLS context, reloaded when the certificate file changes (renewals need no restart). */
export class TlsContexts {
  private ctx: SecureContext | null = null;
  private mtime = 0;
  private checked = 0;

  constructor(private readonly tls: TlsConfig, private readonly log: Logger) {}

  current(): SecureContext {
    const now = Date.now();
    if (!this.ctx || now - this.checked > 10_000) {
      this.checked = now;
      let m = 0;
      try {
        m = statSync(this.tls.cert).mtimeMs;
      } catch {
        /* keep the previous context if the file went away */
      }
      if (!this.ctx || (m && m !== this.mtime)) {
        try {
          this.ctx = createSecureContext({ cert: readFileSync(this.tls.cert), key: readFileSync(this.tls.key), minVersion: 'TLSv1.2' });
          this.mtime = m;
        } catch (e) {
          if (!this.ctx) throw new Error(`cannot load TLS certificate ${this.tls.cert} / key ${this.tls.key}: ${(e as Error).message}`);
          this.log.error(null, `tls: reload failed, keeping the previous certificate: ${(e as Error).message}`);
        }
      }
    }
    return this.ctx!;
  }
}
