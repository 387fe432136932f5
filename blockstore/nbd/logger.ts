// The NBD door logs through this narrow, pino-compatible shape (fields first, then message), so
// tools/ can pass its pino logger and tests can pass a recorder. No global logger (STYLE "Do not imitate").
export interface NbdLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Default: silent for info and warn (protocol violations by clients are routine under fuzzing),
 * stderr for errors (assertions: bugs must be seen). */
export const stderrErrorLogger: NbdLogger = {
  info() {},
  warn() {},
  error(fields, message) {
    process.stderr.write(`${message} ${JSON.stringify(fields, (key, value: unknown) => (value instanceof Error ? value.stack : value))}\n`);
  },
};
