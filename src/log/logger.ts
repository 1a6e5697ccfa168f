import { appendFileSync, mkdirSync, openSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The mail log (S12): one line per event, greppable like a maillog, the queue id right after
 * the program name when there is one:
 *   2026-11-27T19:00:00.123Z mail.example.test correo/smtp[1234]: 4F2A9C1B0D: from=<a@b>, size=812, nrcpt=1
 * Levels follow sendmail's confLOG_LEVEL spirit: 0 only errors ... 9 normal traffic ... 99 everything.
 */
export const LogLevel = {
  error: 1,
  warn: 3,
  notice: 5,
  info: 9,
  debug: 12,
  trace: 20,
} as const;

export class Logger {
  private fd: number | null = null;

  constructor(
    private readonly hostname: string,
    readonly level: number,
    private readonly file: string | null,
    private readonly component = 'correo',
  ) {
    if (file) {
      mkdirSync(dirname(file), { recursive: true });
      this.fd = openSync(file, 'a');
    }
  }

  /** A logger writing to the same place under another program name, e.g. "correo/smtp". */
  child(component: string): Logger {
    const child = Object.create(this) as Logger;
    (child as unknown as { component: string }).component = `correo/${component}`;
    return child;
  }

  enabled(level: number): boolean {
    return level <= this.level;
  }

  log(level: number, id: string | null, message: string): void {
    if (level > this.level) return;
    const line = `${new Date().toISOString()} ${this.hostname} ${this.component}[${process.pid}]: ${id ? id + ': ' : ''}${message}\n`;
    if (this.fd !== null) writeSync(this.fd, line);
    else process.stdout.write(line);
  }

  error(id: string | null, message: string): void { this.log(LogLevel.error, id, message); }
  warn(id: string | null, message: string): void { this.log(LogLevel.warn, id, message); }
  notice(id: string | null, message: string): void { this.log(LogLevel.notice, id, message); }
  info(id: string | null, message: string): void { this.log(LogLevel.info, id, message); }
  debug(id: string | null, message: string): void { this.log(LogLevel.debug, id, message); }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** For one-off CLI messages appended to the same log. */
export function appendLogLine(file: string, line: string): void {
  appendFileSync(file, line.endsWith('\n') ? line : line + '\n');
}
