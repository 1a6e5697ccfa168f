#!/usr/bin/env node
import { sendmailMain } from './sendmail.js';

/** The `mailq` program name (package.json bin): the queue listing, like `sendmail -bp`. */
sendmailMain(process.argv.slice(2), 'mailq').then((code) => process.exit(code));
