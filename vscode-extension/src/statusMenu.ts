/**
 * The status-bar item and the menu behind it. What it says is decided in status.ts (no `vscode`
 * import); this module only shows it and keeps the inputs: the server's state, the last
 * fireside/status, the requests in flight, and why the server failed.
 */
import * as vscode from 'vscode';
import { EditorSettings, openSettings } from './editorSettings';
import { StatusParams } from './protocol';
import { ServerState, statusView } from './status';

export class StatusMenu implements vscode.Disposable {
  private serverState: ServerState = 'stopped';
  private model: StatusParams | undefined;
  private problem: string | undefined;
  private busy = 0;
  /** Where the running server came from (shown next to "Restart server"). */
  launchSource: string | undefined;
  private readonly item = vscode.window.createStatusBarItem('fireside.status', vscode.StatusBarAlignment.Right, 100);
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly settings: EditorSettings) {
    this.item.name = 'Fireside';
    this.item.command = 'fireside.showMenu';
    this.update();
    this.item.show();
    this.disposables.push(this.item, vscode.window.onDidChangeActiveTextEditor(() => this.update()));
  }

  get state(): ServerState {
    return this.serverState;
  }

  setServerState(state: ServerState): void {
    this.serverState = state;
    this.update();
  }

  /** A new start: the model and the problem of the previous server are forgotten. */
  reset(): void {
    this.problem = undefined;
    this.model = undefined;
  }

  setModel(model: StatusParams | undefined): void {
    this.model = model;
    this.update();
  }

  /** Why the server is not running; shown with the failed state. */
  setProblem(problem: string): void {
    this.problem = problem;
  }

  setBusy(delta: number): void {
    this.busy = Math.max(0, this.busy + delta);
    this.update();
  }

  clearBusy(): void {
    this.busy = 0;
  }

  update(): void {
    const document = vscode.window.activeTextEditor?.document;
    const view = statusView({
      server: this.serverState,
      model: this.model,
      busy: this.busy,
      language: document ? { id: document.languageId, enabled: this.settings.languageEnabled(document) } : undefined,
      problem: this.problem,
    });
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor =
      view.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  async showMenu(): Promise<void> {
    const document = vscode.window.activeTextEditor?.document;
    const items: (vscode.QuickPickItem & { command: string })[] = [];
    if (document !== undefined) {
      const enabled = this.settings.languageEnabled(document);
      items.push({
        label: enabled ? `$(circle-slash) Disable for ${document.languageId}` : `$(check) Enable for ${document.languageId}`,
        command: 'fireside.toggleLanguage',
      });
    }
    items.push(
      { label: '$(debug-restart) Restart server', description: this.launchSource, command: 'fireside.restart' },
      { label: '$(output) Show logs', command: 'fireside.showLogs' },
      { label: '$(beaker) Generate Hypothesis tests', command: 'fireside.generateTests' },
      { label: '$(settings-gear) Settings', command: 'fireside.openSettings' },
    );
    const title = statusView({ server: this.serverState, model: this.model, busy: this.busy, problem: this.problem }).summary;
    const choice = await vscode.window.showQuickPick(items, { title });
    if (choice?.command === 'fireside.openSettings') {
      await openSettings();
    } else if (choice !== undefined) {
      await vscode.commands.executeCommand(choice.command);
    }
  }

  dispose(): void {
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}
