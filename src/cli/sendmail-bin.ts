#!/usr/bin/env node
import { sendmailMain } from './sendmail.js';

/** The `sendmail` program name (package.json bin): cron, PHP's mail() and scripts call it. */
sendmailMain(process.argv.slice(2), 'sendmail').then((code) => process.exit(code));
