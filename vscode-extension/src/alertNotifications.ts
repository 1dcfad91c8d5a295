/**
 * The editor side of fireside/alert and of the server's window/showMessage: one notification per new
 * or resolved alert (not for re-sends, not for the server's own echo of it), the "Fireside Alerts"
 * view, and the alert's Prometheus graph. Which change deserves a notification is decided in
 * alerts.ts (no `vscode` import).
 */
import * as vscode from 'vscode';
import { MessageType } from 'vscode-languageclient/node';
import { alertDetail, alertKey, alertTitle, AlertStore } from './alerts';
import { AlertsTreeProvider } from './alertsView';
import { ALERT_NOTIFICATION, parseAlert } from './protocol';

export class AlertNotifications implements vscode.Disposable {
  private readonly store = new AlertStore();
  private readonly view = new AlertsTreeProvider(this.store);
  private readonly registration: vscode.Disposable;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.registration = vscode.window.registerTreeDataProvider('firesideAlerts', this.view);
  }

  /** A fireside/alert notification, parsed before use. */
  onAlert(raw: unknown): void {
    const alert = parseAlert(raw);
    if (alert === undefined) {
      this.log.appendLine(`[fireside] ignored a malformed ${ALERT_NOTIFICATION}: ${JSON.stringify(raw)}`);
      return;
    }
    const change = this.store.apply(alert, Date.now());
    this.view.refresh();
    this.log.appendLine(`[fireside] alert ${change}: ${alertTitle(alert)}`);
    const key = alertKey(alert);
    if (change === 'fired') {
      const show = alert.severity === 'error' ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
      const detail = alertDetail(alert);
      void show(`Fireside anomaly: ${alertTitle(alert)}${detail ? ` — ${detail}` : ''}`, 'Open graph', 'Show alerts').then((choice) => {
        if (choice === 'Open graph') {
          void this.openGraph(key, alert.generator_url);
        } else if (choice === 'Show alerts') {
          void vscode.commands.executeCommand('firesideAlerts.focus');
        }
      });
    } else if (change === 'resolved') {
      void vscode.window.showInformationMessage(`Fireside: resolved: ${alertTitle(alert)}`);
    }
  }

  /** The server's window/showMessage: shown with a way to the logs, unless it repeats an alert just shown. */
  onShowMessage(type: MessageType, message: string): void {
    if (this.store.isEcho(message, Date.now())) {
      this.log.appendLine(`[fireside] not shown again (the server's echo of an alert): ${message}`);
      return; // the alert itself was shown, with its graph link
    }
    if (type === MessageType.Error) {
      void vscode.window.showErrorMessage(message, 'Show logs').then((choice) => choice && this.log.show(true));
    } else if (type === MessageType.Warning) {
      void vscode.window.showWarningMessage(message, 'Show logs').then((choice) => choice && this.log.show(true));
    } else {
      void vscode.window.showInformationMessage(message);
    }
  }

  async openGraph(key: unknown, fallbackUrl?: string): Promise<void> {
    const url = (typeof key === 'string' ? this.store.get(key)?.generator_url : undefined) ?? fallbackUrl;
    if (url === undefined || !/^https?:\/\//.test(url)) {
      void vscode.window.showInformationMessage('Fireside: this alert has no Prometheus graph link.');
      return;
    }
    await vscode.env.openExternal(vscode.Uri.parse(url));
  }

  clear(): void {
    this.store.clear();
    this.view.refresh();
  }

  dispose(): void {
    this.registration.dispose();
  }
}
