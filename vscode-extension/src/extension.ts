/**
 * The Fireside extension: launches `fireside serve` over stdio and adds the editor side of its
 * features (ghost text through the standard textDocument/inlineCompletion, the status bar, the
 * "Generate Hypothesis tests" command, the alerts view). This module only assembles them:
 * - lifecycle.ts: launching, restarting and stopping the server; its notifications, parsed;
 * - statusMenu.ts: the status-bar item and its menu;
 * - alertNotifications.ts: alerts and the server's messages;
 * - commands.ts: the commands;
 * - editorSettings.ts: the settings, read from VS Code.
 * Decisions live in the plain modules (interpreter, settings, status, alerts, crashPolicy, protocol)
 * where they are unit-tested without VS Code.
 */
import * as vscode from 'vscode';
import { AlertNotifications } from './alertNotifications';
import { registerCommands } from './commands';
import { EditorSettings } from './editorSettings';
import { ServerLifecycle } from './lifecycle';
import { StatusMenu } from './statusMenu';

let server: ServerLifecycle | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('Fireside', { log: true });
  const settings = new EditorSettings(context, log);
  const status = new StatusMenu(settings);
  const alerts = new AlertNotifications(log);
  const lifecycle = new ServerLifecycle(context, log, settings, status, alerts);
  server = lifecycle;
  context.subscriptions.push(log, status, alerts, lifecycle, ...registerCommands({ log, settings, server: lifecycle, status, alerts }));
  await lifecycle.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
