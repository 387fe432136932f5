// Captured console output of one call, in Lambda's line format
// ("<ISO time>\t<request id>\t<LEVEL>\t<message>"), capped at logBytesMax so a chatty guest cannot
// grow the host's memory.
import { logBytesMax } from '../limits.js';

export class LogCapture {
  private parts: string[] = [];
  private bytes = 0;
  private truncated = false;
  private requestId: string | undefined;

  begin(requestId: string | undefined): void {
    this.parts = [];
    this.bytes = 0;
    this.truncated = false;
    this.requestId = requestId;
  }

  entry(level: string, message: string): void {
    this.line(`${new Date().toISOString()}\t${this.requestId ?? 'undefined'}\t${level}\t${message}`);
  }

  line(text: string): void {
    if (this.truncated) return;
    const size = Buffer.byteLength(text) + 1;
    if (this.bytes + size > logBytesMax) {
      this.truncated = true;
      this.parts.push(`[cairn: log output truncated at ${logBytesMax} bytes]\n`);
      return;
    }
    this.bytes += size;
    this.parts.push(text + '\n');
  }

  text(): string {
    return this.parts.join('');
  }
}
