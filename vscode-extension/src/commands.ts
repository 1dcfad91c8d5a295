/** The extension's commands (package.json `contributes.commands`), each delegating to the module that owns it. */
import * as vscode from 'vscode';
import { AlertNotifications } from './alertNotifications';
import { EditorSettings } from './editorSettings';
import { generateTests } from './generateTests';
import { ServerLifecycle } from './lifecycle';
import { SECTION } from './settings';
import { StatusMenu } from './statusMenu';

export interface CommandTargets {
  log: vscode.LogOutputChannel;
  settings: EditorSettings;
  server: ServerLifecycle;
  status: StatusMenu;
  alerts: AlertNotifications;
}

export function registerCommands(targets: CommandTargets): vscode.Disposable[] {
  const { log, settings, server, status, alerts } = targets;
  return [
    vscode.commands.registerCommand('fireside.restart', () => server.restart()),
    vscode.commands.registerCommand('fireside.showLogs', () => log.show(true)),
    vscode.commands.registerCommand('fireside.generateTests', () => runGenerateTests(server, log)),
    vscode.commands.registerCommand('fireside.toggleLanguage', () => toggleLanguage(settings)),
    vscode.commands.registerCommand('fireside.showMenu', () => status.showMenu()),
    vscode.commands.registerCommand('fireside.clearAlerts', () => alerts.clear()),
    vscode.commands.registerCommand('fireside.openAlertGraph', (key: unknown) => alerts.openGraph(key)),
  ];
}

/** Switches completions on or off for the active editor's language (adding it to enabledLanguages when needed). */
async function toggleLanguage(settings: EditorSettings): Promise<void> {
  const document = vscode.window.activeTextEditor?.document;
  if (document === undefined) {
    void vscode.window.showInformationMessage('Fireside: open a file to switch Fireside on or off for its language.');
    return;
  }
  const language = document.languageId;
  const configuration = vscode.workspace.getConfiguration(SECTION, { languageId: language });
  if (settings.languageEnabled(document)) {
    await configuration.update('enable', false, vscode.ConfigurationTarget.Global, true);
    return;
  }
  await configuration.update('enable', true, vscode.ConfigurationTarget.Global, true);
  const languages = settings.enabledLanguages();
  if (!languages.includes(language)) {
    await vscode.workspace.getConfiguration(SECTION).update('enabledLanguages', [...languages, language], vscode.ConfigurationTarget.Global);
  }
}

async function runGenerateTests(server: ServerLifecycle, log: vscode.LogOutputChannel): Promise<void> {
  try {
    await generateTests(server.client, log);
  } catch (error) {
    // A request that failed (the server stopped mid-way): one message, not the command's generic failure.
    const message = error instanceof Error ? error.message : String(error);
    log.appendLine(`[generate tests] failed: ${message}`);
    void vscode.window.showErrorMessage(`Fireside: generating tests failed: ${message}`, 'Show logs').then((choice) => choice && log.show(true));
  }
}
