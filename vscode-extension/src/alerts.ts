/**
 * The alerts the server forwarded from `fireside monitor` (fireside/alert): which are firing, which
 * change deserves a notification, and which server messages only repeat one. No `vscode` import.
 */
import { Alert } from './protocol';

export { parseAlert } from './protocol';

export type AlertChange = 'fired' | 'updated' | 'resolved' | 'ignored';

/** Alerts are the same alert when their labels are (Alertmanager's identity). */
export function alertKey(alert: Alert): string {
  const entries = Object.entries(alert.labels).map(([key, value]) => [key, String(value)]);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(entries);
}

export function alertTitle(alert: Alert): string {
  return alert.summary || alert.alertname || alert.labels.alertname || 'Fireside anomaly';
}

export function alertDetail(alert: Alert): string {
  const parts: string[] = [];
  if (alert.feature_description) {
    parts.push(alert.feature_description);
  }
  if (typeof alert.value === 'number') {
    parts.push(`value ${formatNumber(alert.value)}`);
  }
  if (typeof alert.score === 'number' && typeof alert.threshold === 'number') {
    parts.push(`score ${formatNumber(alert.score)} > ${formatNumber(alert.threshold)}`);
  }
  return parts.join(' · ');
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(3);
}

export class AlertStore {
  private readonly alerts = new Map<string, Alert>();
  /** Summaries just announced, with when: the server's own showMessage for them is an echo. */
  private readonly announced: { text: string; at: number }[] = [];

  /** Applies a fireside/alert; 'fired' and 'resolved' deserve a notification, 'updated' (a re-send) not. */
  apply(alert: Alert, now: number): AlertChange {
    const key = alertKey(alert);
    const known = this.alerts.has(key);
    let change: AlertChange;
    if (alert.status === 'firing') {
      this.alerts.set(key, alert);
      change = known ? 'updated' : 'fired';
    } else {
      change = known ? 'resolved' : 'ignored';
      this.alerts.delete(key);
    }
    this.announced.push({ text: alertTitle(alert), at: now });
    while (this.announced.length > 50) {
      this.announced.shift();
    }
    return change;
  }

  /** Firing alerts, newest first. */
  firing(): Alert[] {
    return [...this.alerts.values()].sort((a, b) => (b.starts_at ?? 0) - (a.starts_at ?? 0));
  }

  get(key: string): Alert | undefined {
    return this.alerts.get(key);
  }

  clear(): void {
    this.alerts.clear();
  }

  /**
   * Whether a window/showMessage from the server repeats an alert this client already shows
   * (the server tells every client, "Fireside Anomaly: SUMMARY — ...", right after fireside/alert).
   */
  isEcho(message: string, now: number, windowMs = 10_000): boolean {
    if (!message.startsWith('Fireside ')) {
      return false;
    }
    return this.announced.some((entry) => now - entry.at <= windowMs && entry.text !== '' && message.includes(entry.text));
  }
}
