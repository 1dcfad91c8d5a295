/** The server's stderr in the output channel at the level it was logged at. No `vscode` import. */

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** The level of one line of the server's log ("2026-01-01 12:00:00,000 WARNING fireside.x: ..."). */
export function serverLogLevel(line: string): LogLevelName {
  const match = /^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) /.exec(line);
  switch (match?.[1]) {
    case 'DEBUG':
      return 'debug';
    case 'WARNING':
      return 'warn';
    case 'ERROR':
    case 'CRITICAL':
      return 'error';
    case 'INFO':
      return 'info';
    default:
      // Native libraries (llama.cpp) and tracebacks write free-form lines: shown, not alarming.
      return 'info';
  }
}

/** The line without the server's own timestamp (the output channel adds one). */
export function withoutTimestamp(line: string): string {
  return line.replace(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} /, '');
}
