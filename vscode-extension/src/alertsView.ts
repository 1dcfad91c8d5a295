/** The "Fireside Alerts" tree view: the firing alerts, each linking to its Prometheus graph. */
import * as vscode from 'vscode';
import { alertDetail, alertKey, alertTitle, AlertStore } from './alerts';

export class AlertsTreeProvider implements vscode.TreeDataProvider<string> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly store: AlertStore) {}

  refresh(): void {
    this.changed.fire();
  }

  getChildren(element?: string): string[] {
    return element === undefined ? this.store.firing().map(alertKey) : [];
  }

  getTreeItem(key: string): vscode.TreeItem {
    const alert = this.store.get(key);
    const item = new vscode.TreeItem(alert ? alertTitle(alert) : key, vscode.TreeItemCollapsibleState.None);
    if (alert === undefined) {
      return item;
    }
    item.description = alertDetail(alert);
    item.iconPath = new vscode.ThemeIcon(alert.severity === 'error' ? 'error' : 'warning');
    item.contextValue = 'alert';
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown(`**${alertTitle(alert)}**\n\n`);
    if (alert.query) {
      tooltip.appendCodeblock(alert.query, 'promql');
    }
    if (alert.starts_at !== undefined) {
      // Unix seconds on the wire (fireside.monitor.alert.Alert.starts_at).
      tooltip.appendMarkdown(`\n\nfiring since ${new Date(alert.starts_at * 1000).toISOString()}`);
    }
    item.tooltip = tooltip;
    if (alert.generator_url) {
      item.command = { command: 'fireside.openAlertGraph', title: 'Open Prometheus Graph', arguments: [key] };
    }
    return item;
  }
}
