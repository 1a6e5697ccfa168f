import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The access file of the seed document (its lines 226-232), byte for byte, comments and all. */
export const SEED_ACCESS_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/maps/fixtures/seed-access');
