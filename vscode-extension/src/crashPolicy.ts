/**
 * Whether to restart the server after its connection closed. A server that never finished starting
 * is not restarted (the same command would fail the same way: an error loop); a server that ran is
 * restarted a few times, then left stopped. No `vscode` import.
 */
export type CloseDecision = { restart: true } | { restart: false; reason: 'failed-to-start' | 'crashed-repeatedly' };

export class CrashPolicy {
  private crashes: number[] = [];

  constructor(
    private readonly maxRestarts = 3,
    private readonly windowMs = 3 * 60_000,
  ) {}

  onClosed(now: number, hadStarted: boolean): CloseDecision {
    if (!hadStarted) {
      return { restart: false, reason: 'failed-to-start' };
    }
    this.crashes = this.crashes.filter((at) => now - at < this.windowMs);
    this.crashes.push(now);
    if (this.crashes.length > this.maxRestarts) {
      return { restart: false, reason: 'crashed-repeatedly' };
    }
    return { restart: true };
  }

  reset(): void {
    this.crashes = [];
  }
}
