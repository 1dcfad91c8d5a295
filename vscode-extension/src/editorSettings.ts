/**
 * The editor's Fireside settings, read from VS Code: what the server is sent, how it is launched,
 * and which languages complete. The decisions themselves live in settings.ts (no `vscode` import).
 */
import * as vscode from 'vscode';
import { enabledFor, RESTRICTED_SETTINGS, restrictedArgs, SECTION, serverSettingNames, serverSettings, stringListSetting, stringSetting } from './settings';

export class EditorSettings {
  /** The server settings among the contributed ones ("maxTokens", ...): package.json does not change while running. */
  readonly names: string[];

  constructor(
    context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.names = serverSettingNames(Object.keys(context.extension.packageJSON?.contributes?.configuration?.properties ?? {}));
  }

  /** The settings sent to the server: only what the user set (the server owns the defaults). */
  serverSettings(): Record<string, unknown> {
    const configuration = vscode.workspace.getConfiguration(SECTION);
    return serverSettings(this.names, (name) => {
      const inspected = configuration.inspect(name);
      return inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
    });
  }

  /**
   * How the server is started: `fireside.path`/`fireside.interpreter` from every scope in a trusted workspace,
   * from the user's settings only in an untrusted one.
   */
  launchSetting(name: 'path' | 'interpreter'): string {
    const configuration = vscode.workspace.getConfiguration(SECTION);
    return stringSetting(vscode.workspace.isTrusted ? configuration.get(name) : configuration.inspect(name)?.globalValue);
  }

  /** The flags for the restricted settings: the user's values only, trusted workspace or not. */
  restrictedFlags(): string[] {
    const configuration = vscode.workspace.getConfiguration(SECTION);
    for (const name of Object.keys(RESTRICTED_SETTINGS)) {
      const inspected = configuration.inspect(name);
      if (inspected?.workspaceValue !== undefined || inspected?.workspaceFolderValue !== undefined) {
        this.log.appendLine(`[fireside] ignored the workspace's fireside.${name}: it is taken from your user settings only`);
      }
    }
    return restrictedArgs((name) => configuration.inspect(name)?.globalValue);
  }

  enabledLanguages(): string[] {
    const configuration = vscode.workspace.getConfiguration(SECTION);
    // A badly typed value falls back to package.json's default.
    const contributed = stringListSetting(configuration.inspect('enabledLanguages')?.defaultValue, ['python']);
    return stringListSetting(configuration.get('enabledLanguages'), contributed);
  }

  languageEnabled(document: vscode.TextDocument): boolean {
    const clientEnabled = vscode.workspace.getConfiguration(SECTION, document).get<boolean>('enable', true);
    return enabledFor(document.languageId, clientEnabled, this.enabledLanguages());
  }
}

export function openSettings(): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openSettings', '@ext:fireside.fireside');
}
