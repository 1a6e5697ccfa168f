import { createRequire } from 'node:module';

/**
 * An independent DKIM verifier for the tests: mailauth 4.x (not our code), with DNS answered
 * from the records given instead of any resolver ({ "sel._domainkey.example.test": "v=DKIM1; ..." }).
 */
const require = createRequire(import.meta.url);
const { dkimVerify } = require('mailauth/lib/dkim/verify') as {
  dkimVerify(input: Buffer, opts: { resolver: (name: string, type: string) => Promise<string[][]> }): Promise<{
    results: { status: { result: string; comment?: string }; signingDomain: string; selector: string; algo: string }[];
  }>;
};

export async function verifyDkim(message: Buffer, records: Record<string, string>) {
  const r = await dkimVerify(message, {
    resolver: async (name, type) => {
      if (type === 'TXT' && records[name]) return [[records[name]]];
      throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
    },
  });
  return r.results;
}
