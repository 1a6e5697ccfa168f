import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Config } from '../config/types.js';
import { dnsRecordValue, keyFile, writeDkimKey, zoneLine, type KeyAlgorithm } from '../dkim/keys.js';
import { UsageError } from './args.js';
import { isRoot, userByName } from '../privileges/passwd.js';

/**
 * `correo dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519]`: a new signing key in
 * data_dir/dkim/DOMAIN.SELECTOR.key (RSA-2048 by default, RFC 8301; Ed25519 per RFC 8463),
 * and the TXT record to publish. `correo dkim record DOMAIN [--selector S]` prints the record
 * of the key in use again.
 */
export function dkimCommand(cfg: Config, args: string[], opts: Record<string, string | true>): number {
  const [sub, domainArg] = args;
  if (!domainArg) throw new UsageError(`dkim ${sub ?? 'keygen'} needs a DOMAIN`);
  const domain = domainArg.toLowerCase();
  const selector = (opts.selector as string | undefined) ?? cfg.dkim[domain]?.selector ?? 'correo';
  if (!/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/i.test(selector)) throw new UsageError(`selector "${selector}" must be letters, digits, ".", "-", "_"`);
  const configured = cfg.dkim[domain]?.selector === selector ? cfg.dkim[domain].key : null;
  const file = configured ?? keyFile(cfg.data_dir, domain, selector);
  switch (sub) {
    case 'keygen': {
      const algorithm = ((opts.algorithm as string | undefined) ?? 'rsa').toLowerCase();
      if (algorithm !== 'rsa' && algorithm !== 'ed25519') throw new UsageError('--algorithm is rsa or ed25519');
      const server = isRoot() ? userByName(cfg.server.user) : null;
      const key = writeDkimKey(file, algorithm as KeyAlgorithm, server && server.uid !== 0 ? server : undefined);
      console.log(`wrote ${file} (${algorithm === 'rsa' ? 'RSA 2048' : 'Ed25519'})`);
      console.log('');
      console.log('Publish this DNS record:');
      console.log(zoneLine(domain, selector, dnsRecordValue(key)));
      if (!configured) {
        console.log('');
        console.log(`Then sign with it: add to ${cfg.file ?? 'the config'} and restart`);
        console.log(`[dkim."${domain}"]`);
        console.log(`selector = "${selector}"`);
        console.log(`key = "${file}"`);
      }
      return 0;
    }
    case 'record': {
      if (!existsSync(file)) throw new Error(`${file}: no key; make one with "correo dkim keygen ${domain} --selector ${selector}"`);
      console.log(zoneLine(domain, selector, dnsRecordValue(createPrivateKey(readFileSync(file)))));
      return 0;
    }
    default:
      throw new UsageError(`unknown "dkim ${sub ?? ''}"; use keygen or record`);
  }
}
