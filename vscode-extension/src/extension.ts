/**
 * The Fireside extension: launches `fireside serve` over stdio and adds the editor side of its
 * features (ghost text through the standard textDocument/inlineCompletion, the status bar, the
 * "Generate Hypothesis tests" command, the alerts view). Decisions live in the plain modules next
 * to this one (interpreter, settings, status, alerts, crashPolicy) where they are unit-tested.
 */
import { execFile } from 'child_process';
import { constants as fsConstants, promises as fs } from 'fs';
import * as os from 'os';
import * as readline from 'readline';
import { Readable } from 'stream';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  MessageType,
  RevealOutputChannelOn,
  ServerOptions,
  ShowMessageNotification,
  State,
  TransportKind,
  DidChangeConfigurationNotification,
} from 'vscode-languageclient/node';
import { AlertStore, alertDetail, alertKey, alertTitle, parseAlert } from './alerts';
import { AlertsTreeProvider } from './alertsView';
import { CrashPolicy } from './crashPolicy';
import { generateTests } from './generateTests';
import { LaunchCommand, Probe, resolveServer, SAFE_PATH } from './interpreter';
import {
  ALERT_NOTIFICATION,
  MODEL_CHANGED_NOTIFICATION,
  MODEL_REJECTED_NOTIFICATION,
  ModelChangedParams,
  ModelRejectedParams,
  StatusParams,
  STATUS_NOTIFICATION,
} from './protocol';
import {
  affectsServer,
  enabledFor,
  needsRestart,
  RESTRICTED_SETTINGS,
  restrictedArgs,
  SECTION,
  serverSettingNames,
  serverSettings,
  stringListSetting,
  stringSetting,
} from './settings';
import { serverLogLevel, withoutTimestamp } from './serverLog';
import { parseStatus, ServerState, statusView } from './status';

/** The language client, but its errors go to the output channel only: the extension tells the user itself, once. */
class QuietLanguageClient extends LanguageClient {
  override error(message: string, data?: unknown): void {
    super.error(message, data, false);
  }
}

/** Each line the server logs, into the output channel at its own level. */
function forwardLines(input: Readable, channel: vscode.LogOutputChannel): void {
  readline
    .createInterface({ input, crlfDelay: Infinity, terminal: false })
    .on('line', (line) => channel[serverLogLevel(line)](withoutTimestamp(line)));
}

const fileProbe: Probe = {
  async isExecutable(file: string): Promise<boolean> {
    try {
      const stat = await fs.stat(file);
      await fs.access(file, fsConstants.X_OK);
      return stat.isFile();
    } catch {
      return false;
    }
  },
  importsFireside(python: string): Promise<boolean> {
    return new Promise((resolve) => {
      // -P and a neutral directory: a fireside/ package in the workspace must not answer for the real one.
      execFile(python, [SAFE_PATH, '-c', 'import fireside'], { timeout: 30_000, cwd: os.tmpdir() }, (error) => resolve(error === null));
    });
  },
};

async function pythonExtensionInterpreter(): Promise<string | undefined> {
  const python = vscode.extensions.getExtension('ms-python.python');
  if (python === undefined) {
    return undefined;
  }
  try {
    const api = python.isActive ? python.exports : await python.activate();
    const environment = api?.environments?.getActiveEnvironmentPath?.(vscode.workspace.workspaceFolders?.[0]?.uri);
    return typeof environment?.path === 'string' ? environment.path : undefined;
  } catch {
    return undefined;
  }
}

function openSettings(): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openSettings', '@ext:fireside.fireside');
}

class Fireside implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private launch: LaunchCommand | undefined;
  private serverState: ServerState = 'stopped';
  private model: StatusParams | undefined;
  private problem: string | undefined;
  private busy = 0;
  private readonly crashPolicy = new CrashPolicy();
  private readonly alerts = new AlertStore();
  private readonly alertsView = new AlertsTreeProvider(this.alerts);
  private readonly statusItem = vscode.window.createStatusBarItem('fireside.status', vscode.StatusBarAlignment.Right, 100);
  private readonly disposables: vscode.Disposable[] = [];
  private starting: Promise<void> | undefined;
  /** The server settings among the contributed ones ("maxTokens", ...): package.json does not change while running. */
  private readonly settingNames: string[];

  /** The server's working directory: the extension's own storage, never a workspace folder. */
  private readonly serverDirectory: string;

  constructor(
    context: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
  ) {
    this.settingNames = serverSettingNames(Object.keys(context.extension.packageJSON?.contributes?.configuration?.properties ?? {}));
    this.serverDirectory = context.globalStorageUri.fsPath;
    this.statusItem.name = 'Fireside';
    this.statusItem.command = 'fireside.showMenu';
    this.updateStatus();
    this.statusItem.show();
    this.disposables.push(
      this.statusItem,
      vscode.window.registerTreeDataProvider('firesideAlerts', this.alertsView),
      vscode.window.onDidChangeActiveTextEditor(() => this.updateStatus()),
      vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)),
      // Trusted now: the workspace's .venv and its settings for the server's program may be used.
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.log.appendLine('[fireside] the workspace is trusted now: restarting the server');
        void this.restart();
      }),
    );
  }

  // ----- settings ---------------------------------------------------------------------------
  private serverSettings(): Record<string, unknown> {
    const configuration = vscode.workspace.getConfiguration(SECTION);
    return serverSettings(this.settingNames, (name) => {
      const inspected = configuration.inspect(name);
      // Only what the user set: the server owns the defaults.
      return inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
    });
  }

  /**
   * How the server is started: `fireside.path`/`fireside.interpreter` from every scope in a trusted workspace,
   * from the user's settings only in an untrusted one.
   */
  private launchSetting(name: 'path' | 'interpreter'): string {
    const configuration = vscode.workspace.getConfiguration(SECTION);
    return stringSetting(vscode.workspace.isTrusted ? configuration.get(name) : configuration.inspect(name)?.globalValue);
  }

  /** The flags for the restricted settings: the user's values only, trusted workspace or not. */
  private restrictedFlags(): string[] {
    const configuration = vscode.workspace.getConfiguration(SECTION);
    for (const name of Object.keys(RESTRICTED_SETTINGS)) {
      const inspected = configuration.inspect(name);
      if (inspected?.workspaceValue !== undefined || inspected?.workspaceFolderValue !== undefined) {
        this.log.appendLine(`[fireside] ignored the workspace's fireside.${name}: it is taken from your user settings only`);
      }
    }
    return restrictedArgs((name) => configuration.inspect(name)?.globalValue);
  }

  private enabledLanguages(): string[] {
    const configuration = vscode.workspace.getConfiguration(SECTION);
    // A badly typed value falls back to package.json's default: every language the server supports.
    const contributed = stringListSetting(configuration.inspect('enabledLanguages')?.defaultValue, ['python']);
    return stringListSetting(configuration.get('enabledLanguages'), contributed);
  }

  private languageEnabled(document: vscode.TextDocument): boolean {
    const clientEnabled = vscode.workspace.getConfiguration(SECTION, document).get<boolean>('enable', true);
    return enabledFor(document.languageId, clientEnabled, this.enabledLanguages());
  }

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SECTION)) {
      return;
    }
    this.updateStatus();
    if (needsRestart((section) => event.affectsConfiguration(section))) {
      this.log.appendLine('[fireside] settings that decide how the server starts changed: restarting');
      void this.restart();
    } else if (this.client?.isRunning() && affectsServer(this.settingNames, (section) => event.affectsConfiguration(section))) {
      void this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SECTION]: this.serverSettings() } });
    }
  }

  // ----- the server -------------------------------------------------------------------------
  start(): Promise<void> {
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.problem = undefined;
    this.model = undefined;
    this.setServerState('starting');
    try {
      await this.launchServer();
    } catch (error) {
      // Anything unforeseen still ends in one message and a failed status, not a status stuck at "loading".
      this.log.appendLine(`[fireside] starting the server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      this.fail(`The server could not be started: ${String(error)}. The logs say more.`);
    }
  }

  private async launchServer(): Promise<void> {
    const resolution = await resolveServer(
      {
        pathSetting: this.launchSetting('path'),
        interpreterSetting: this.launchSetting('interpreter'),
        pythonExtensionInterpreter,
        workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath),
        trusted: vscode.workspace.isTrusted,
        envPath: process.env.PATH ?? '',
        platform: process.platform,
        home: os.homedir(),
      },
      fileProbe,
    );
    if (!resolution.ok) {
      this.log.appendLine(`[fireside] ${resolution.problem} Tried: ${resolution.tried.join(', ') || 'nothing'}.`);
      this.fail(`${resolution.problem} ${resolution.fix}`);
      return;
    }
    const launch = { ...resolution.launch, args: [...resolution.launch.args, ...this.restrictedFlags()] };
    this.launch = launch;
    await fs.mkdir(this.serverDirectory, { recursive: true });
    this.log.appendLine(
      `[fireside] starting ${[launch.command, ...launch.args].join(' ')} (from ${launch.source}${vscode.workspace.isTrusted ? '' : '; untrusted workspace'})`,
    );
    const client = this.createClient(launch);
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      if (this.client === client && this.serverState !== 'failed') {
        this.log.appendLine(`[fireside] the server did not start: ${String(error)}`);
        this.fail(this.startFailureMessage());
      }
      return;
    }
    if (this.client === client) {
      this.crashPolicy.reset();
      this.setServerState('running');
    }
  }

  private startFailureMessage(): string {
    const command = this.launch ? [this.launch.command, ...this.launch.args].join(' ') : 'fireside serve';
    return `The server (${command}) stopped while starting; the logs say why. Check that it runs in a terminal, or point fireside.path at a working fireside executable.`;
  }

  private createClient(launch: LaunchCommand): LanguageClient {
    const serverOptions: ServerOptions = {
      command: launch.command,
      args: launch.args,
      transport: TransportKind.stdio,
      options: { cwd: this.serverDirectory }, // never a workspace folder: its files must not shadow Fireside's
    };
    const languages = this.enabledLanguages();
    const clientOptions: LanguageClientOptions = {
      documentSelector: languages.flatMap((language) => [
        { scheme: 'file', language },
        { scheme: 'untitled', language },
      ]),
      outputChannel: this.log,
      stdioOptions: { stdout: (input, channel) => forwardLines(input, channel), stderr: (input, channel) => forwardLines(input, channel) },
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: this.serverSettings(),
      initializationFailedHandler: () => false,
      errorHandler: {
        error: (_error, _message, count) =>
          (count ?? 0) <= 3 ? { action: ErrorAction.Continue, handled: true } : { action: ErrorAction.Shutdown, handled: true },
        closed: () => this.onClosed(),
      },
      middleware: {
        workspace: {
          // The server asks for section "fireside": it gets its own settings, not the client's.
          configuration: async (params, token, next) => {
            const answers = await next(params, token);
            if (!Array.isArray(answers)) {
              return answers; // an error
            }
            return params.items.map((item, index) => (item.section === SECTION ? this.serverSettings() : answers[index]));
          },
        },
        provideInlineCompletionItems: async (document, position, context, token, next) => {
          if (!this.languageEnabled(document)) {
            return undefined;
          }
          this.setBusy(+1);
          try {
            return await next(document, position, context, token);
          } finally {
            this.setBusy(-1);
          }
        },
      },
    };
    const client = new QuietLanguageClient('fireside', 'Fireside', serverOptions, clientOptions);
    client.onNotification(STATUS_NOTIFICATION, (raw: unknown) => {
      const status = parseStatus(raw);
      if (status !== undefined) {
        this.model = status;
        this.updateStatus();
      }
    });
    client.onNotification(ALERT_NOTIFICATION, (raw: unknown) => this.onAlert(raw));
    // The server tells the user with window/showMessage; the log keeps the history of model changes.
    client.onNotification(MODEL_CHANGED_NOTIFICATION, (params: ModelChangedParams) => {
      this.log.appendLine(`[fireside] model changed to ${params.model} (${params.path})${params.reason ? ` by ${params.reason}` : ''}`);
    });
    client.onNotification(MODEL_REJECTED_NOTIFICATION, (params: ModelRejectedParams) => {
      this.log.appendLine(`[fireside] model rejected: ${params.path}: ${params.reason}`);
    });
    client.onNotification(ShowMessageNotification.type, (params) => this.onShowMessage(params.type, params.message));
    client.onDidChangeState((event) => {
      if (this.client === client && event.newState === State.Running) {
        this.setServerState('running');
      }
    });
    return client;
  }

  private onClosed(): { action: CloseAction; handled: true } {
    const hadStarted = this.serverState === 'running';
    const decision = this.crashPolicy.onClosed(Date.now(), hadStarted);
    if (decision.restart) {
      this.log.appendLine('[fireside] the server stopped unexpectedly: restarting it');
      this.model = undefined;
      this.setServerState('starting');
      return { action: CloseAction.Restart, handled: true };
    }
    if (decision.reason === 'failed-to-start') {
      this.fail(this.startFailureMessage());
    } else {
      this.fail('The server stopped unexpectedly several times in 3 minutes and is left stopped. The logs say why; "Fireside: Restart Server" starts it again.');
    }
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  /** Tells the user once, with the way to the logs; the server stays stopped until restarted. */
  private fail(problem: string): void {
    this.problem = problem;
    this.setServerState('failed');
    void vscode.window.showErrorMessage(`Fireside: ${problem}`, 'Show logs', 'Open settings').then((choice) => {
      if (choice === 'Show logs') {
        this.log.show(true);
      } else if (choice === 'Open settings') {
        void openSettings();
      }
    });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      try {
        if (client.state !== State.Stopped) {
          await client.stop(5000);
        }
      } catch (error) {
        this.log.appendLine(`[fireside] stopping the server: ${String(error)}`);
      }
      await client.dispose().catch(() => undefined);
    }
    this.busy = 0;
    this.setServerState('stopped');
  }

  async restart(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await this.stop();
    await this.start();
  }

  // ----- status -----------------------------------------------------------------------------
  private setServerState(state: ServerState): void {
    this.serverState = state;
    this.updateStatus();
  }

  private setBusy(delta: number): void {
    this.busy = Math.max(0, this.busy + delta);
    this.updateStatus();
  }

  private updateStatus(): void {
    const document = vscode.window.activeTextEditor?.document;
    const view = statusView({
      server: this.serverState,
      model: this.model,
      busy: this.busy,
      language: document ? { id: document.languageId, enabled: this.languageEnabled(document) } : undefined,
      problem: this.problem,
    });
    this.statusItem.text = view.text;
    this.statusItem.tooltip = view.tooltip;
    this.statusItem.backgroundColor =
      view.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  // ----- messages and alerts ------------------------------------------------------------------
  private onShowMessage(type: MessageType, message: string): void {
    if (this.alerts.isEcho(message, Date.now())) {
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

  private onAlert(raw: unknown): void {
    const alert = parseAlert(raw);
    if (alert === undefined) {
      this.log.appendLine(`[fireside] ignored a malformed ${ALERT_NOTIFICATION}: ${JSON.stringify(raw)}`);
      return;
    }
    const change = this.alerts.apply(alert, Date.now());
    this.alertsView.refresh();
    const key = alertKey(alert);
    if (change === 'fired') {
      const show = alert.severity === 'error' ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
      const detail = alertDetail(alert);
      void show(`Fireside anomaly: ${alertTitle(alert)}${detail ? ` — ${detail}` : ''}`, 'Open graph', 'Show alerts').then((choice) => {
        if (choice === 'Open graph') {
          void this.openAlertGraph(key, alert.generator_url);
        } else if (choice === 'Show alerts') {
          void vscode.commands.executeCommand('firesideAlerts.focus');
        }
      });
    } else if (change === 'resolved') {
      void vscode.window.showInformationMessage(`Fireside: resolved: ${alertTitle(alert)}`);
    }
  }

  async openAlertGraph(key: unknown, fallbackUrl?: string): Promise<void> {
    const url = (typeof key === 'string' ? this.alerts.get(key)?.generator_url : undefined) ?? fallbackUrl;
    if (url === undefined || !/^https?:\/\//.test(url)) {
      void vscode.window.showInformationMessage('Fireside: this alert has no Prometheus graph link.');
      return;
    }
    await vscode.env.openExternal(vscode.Uri.parse(url));
  }

  clearAlerts(): void {
    this.alerts.clear();
    this.alertsView.refresh();
  }

  // ----- commands -----------------------------------------------------------------------------
  async toggleLanguage(): Promise<void> {
    const document = vscode.window.activeTextEditor?.document;
    if (document === undefined) {
      void vscode.window.showInformationMessage('Fireside: open a file to switch Fireside on or off for its language.');
      return;
    }
    const language = document.languageId;
    const configuration = vscode.workspace.getConfiguration(SECTION, { languageId: language });
    if (this.languageEnabled(document)) {
      await configuration.update('enable', false, vscode.ConfigurationTarget.Global, true);
      return;
    }
    await configuration.update('enable', true, vscode.ConfigurationTarget.Global, true);
    const languages = this.enabledLanguages();
    if (!languages.includes(language)) {
      await vscode.workspace.getConfiguration(SECTION).update('enabledLanguages', [...languages, language], vscode.ConfigurationTarget.Global);
    }
  }

  async showMenu(): Promise<void> {
    const document = vscode.window.activeTextEditor?.document;
    const items: (vscode.QuickPickItem & { command: string })[] = [];
    if (document !== undefined) {
      const enabled = this.languageEnabled(document);
      items.push({
        label: enabled ? `$(circle-slash) Disable for ${document.languageId}` : `$(check) Enable for ${document.languageId}`,
        command: 'fireside.toggleLanguage',
      });
    }
    items.push(
      { label: '$(debug-restart) Restart server', description: this.launch?.source, command: 'fireside.restart' },
      { label: '$(output) Show logs', command: 'fireside.showLogs' },
      { label: '$(beaker) Generate Hypothesis tests', command: 'fireside.generateTests' },
      { label: '$(settings-gear) Settings', command: 'fireside.openSettings' },
    );
    const choice = await vscode.window.showQuickPick(items, { title: statusView({ server: this.serverState, model: this.model, busy: this.busy, problem: this.problem }).summary });
    if (choice?.command === 'fireside.openSettings') {
      await openSettings();
    } else if (choice !== undefined) {
      await vscode.commands.executeCommand(choice.command);
    }
  }

  async generateTests(): Promise<void> {
    try {
      await generateTests(this.client, this.log);
    } catch (error) {
      // A request that failed (the server stopped mid-way): one message, not the command's generic failure.
      const message = error instanceof Error ? error.message : String(error);
      this.log.appendLine(`[generate tests] failed: ${message}`);
      void vscode.window.showErrorMessage(`Fireside: generating tests failed: ${message}`, 'Show logs').then((choice) => choice && this.log.show(true));
    }
  }

  dispose(): void {
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}

let fireside: Fireside | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('Fireside', { log: true });
  fireside = new Fireside(context, log);
  const extension = fireside;
  context.subscriptions.push(
    log,
    extension,
    vscode.commands.registerCommand('fireside.restart', () => extension.restart()),
    vscode.commands.registerCommand('fireside.showLogs', () => log.show(true)),
    vscode.commands.registerCommand('fireside.generateTests', () => extension.generateTests()),
    vscode.commands.registerCommand('fireside.toggleLanguage', () => extension.toggleLanguage()),
    vscode.commands.registerCommand('fireside.showMenu', () => extension.showMenu()),
    vscode.commands.registerCommand('fireside.clearAlerts', () => extension.clearAlerts()),
    vscode.commands.registerCommand('fireside.openAlertGraph', (key: unknown) => extension.openAlertGraph(key)),
  );
  await extension.start();
}

export async function deactivate(): Promise<void> {
  await fireside?.stop();
  fireside = undefined;
}
