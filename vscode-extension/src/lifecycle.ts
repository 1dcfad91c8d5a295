/**
 * The server's lifecycle: which program to launch (interpreter.ts decides), the language client over
 * stdio, restarts on crashes (crashPolicy.ts decides) and on settings that change how the server
 * starts, and the server's notifications, each parsed (protocol.ts) before it is handed on.
 */
import { execFile } from 'child_process';
import { constants as fsConstants, promises as fs } from 'fs';
import * as os from 'os';
import * as readline from 'readline';
import { Readable } from 'stream';
import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  ShowMessageNotification,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { AlertNotifications } from './alertNotifications';
import { CrashPolicy } from './crashPolicy';
import { EditorSettings, openSettings } from './editorSettings';
import { LaunchCommand, Probe, resolveServer, SAFE_PATH } from './interpreter';
import {
  ALERT_NOTIFICATION,
  MODEL_CHANGED_NOTIFICATION,
  MODEL_REJECTED_NOTIFICATION,
  parseModelChanged,
  parseModelRejected,
  parseStatus,
  STATUS_NOTIFICATION,
} from './protocol';
import { serverLogLevel, withoutTimestamp } from './serverLog';
import { affectsServer, needsRestart, SECTION } from './settings';
import { StatusMenu } from './statusMenu';

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

export class ServerLifecycle implements vscode.Disposable {
  private current: LanguageClient | undefined;
  private launch: LaunchCommand | undefined;
  private starting: Promise<void> | undefined;
  private readonly crashPolicy = new CrashPolicy();
  private readonly disposables: vscode.Disposable[] = [];
  /** The server's working directory: the extension's own storage, never a workspace folder. */
  private readonly serverDirectory: string;

  constructor(
    context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly settings: EditorSettings,
    private readonly status: StatusMenu,
    private readonly alerts: AlertNotifications,
  ) {
    this.serverDirectory = context.globalStorageUri.fsPath;
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)),
      // Trusted now: the workspace's .venv and its settings for the server's program may be used.
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.log.appendLine('[fireside] the workspace is trusted now: restarting the server');
        void this.restart();
      }),
    );
  }

  /** The running language client, if any. */
  get client(): LanguageClient | undefined {
    return this.current;
  }

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SECTION)) {
      return;
    }
    this.status.update();
    if (needsRestart((section) => event.affectsConfiguration(section))) {
      this.log.appendLine('[fireside] settings that decide how the server starts changed: restarting');
      void this.restart();
    } else if (this.current?.isRunning() && affectsServer(this.settings.names, (section) => event.affectsConfiguration(section))) {
      void this.current.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SECTION]: this.settings.serverSettings() } });
    }
  }

  start(): Promise<void> {
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.status.reset();
    this.status.setServerState('starting');
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
        pathSetting: this.settings.launchSetting('path'),
        interpreterSetting: this.settings.launchSetting('interpreter'),
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
    const launch = { ...resolution.launch, args: [...resolution.launch.args, ...this.settings.restrictedFlags()] };
    this.launch = launch;
    this.status.launchSource = launch.source;
    await fs.mkdir(this.serverDirectory, { recursive: true });
    this.log.appendLine(
      `[fireside] starting ${[launch.command, ...launch.args].join(' ')} (from ${launch.source}${vscode.workspace.isTrusted ? '' : '; untrusted workspace'})`,
    );
    const client = this.createClient(launch);
    this.current = client;
    try {
      await client.start();
    } catch (error) {
      if (this.current === client && this.status.state !== 'failed') {
        this.log.appendLine(`[fireside] the server did not start: ${String(error)}; left stopped (failed-to-start)`);
        this.fail(this.startFailureMessage());
      }
      return;
    }
    if (this.current === client) {
      this.crashPolicy.reset();
      this.status.setServerState('running');
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
    const languages = this.settings.enabledLanguages();
    const clientOptions: LanguageClientOptions = {
      documentSelector: languages.flatMap((language) => [
        { scheme: 'file', language },
        { scheme: 'untitled', language },
      ]),
      outputChannel: this.log,
      stdioOptions: { stdout: (input, channel) => forwardLines(input, channel), stderr: (input, channel) => forwardLines(input, channel) },
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: this.settings.serverSettings(),
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
            return params.items.map((item, index) => (item.section === SECTION ? this.settings.serverSettings() : answers[index]));
          },
        },
        provideInlineCompletionItems: async (document, position, context, token, next) => {
          if (!this.settings.languageEnabled(document)) {
            return undefined;
          }
          this.status.setBusy(+1);
          try {
            return await next(document, position, context, token);
          } finally {
            this.status.setBusy(-1);
          }
        },
      },
    };
    const client = new QuietLanguageClient('fireside', 'Fireside', serverOptions, clientOptions);
    this.listen(client);
    client.onDidChangeState((event) => {
      if (this.current === client && event.newState === State.Running) {
        this.status.setServerState('running');
      }
    });
    return client;
  }

  /** The server's notifications: each parsed before use; a malformed one is logged and dropped. */
  private listen(client: LanguageClient): void {
    const malformed = (method: string, raw: unknown) =>
      this.log.appendLine(`[fireside] ignored a malformed ${method}: ${JSON.stringify(raw)}`);
    client.onNotification(STATUS_NOTIFICATION, (raw: unknown) => {
      const status = parseStatus(raw);
      if (status === undefined) {
        malformed(STATUS_NOTIFICATION, raw);
      } else {
        this.status.setModel(status);
      }
    });
    client.onNotification(ALERT_NOTIFICATION, (raw: unknown) => this.alerts.onAlert(raw));
    // The server tells the user with window/showMessage; the log keeps the history of model changes.
    client.onNotification(MODEL_CHANGED_NOTIFICATION, (raw: unknown) => {
      const params = parseModelChanged(raw);
      if (params === undefined) {
        malformed(MODEL_CHANGED_NOTIFICATION, raw);
      } else {
        this.log.appendLine(`[fireside] model changed to ${params.model} (${params.path})${params.reason ? ` by ${params.reason}` : ''}`);
      }
    });
    client.onNotification(MODEL_REJECTED_NOTIFICATION, (raw: unknown) => {
      const params = parseModelRejected(raw);
      if (params === undefined) {
        malformed(MODEL_REJECTED_NOTIFICATION, raw);
      } else {
        this.log.appendLine(`[fireside] model rejected: ${params.path}: ${params.reason}`);
      }
    });
    client.onNotification(ShowMessageNotification.type, (params) => this.alerts.onShowMessage(params.type, params.message));
  }

  private onClosed(): { action: CloseAction; handled: true } {
    const hadStarted = this.status.state === 'running';
    const decision = this.crashPolicy.onClosed(Date.now(), hadStarted);
    if (decision.restart) {
      this.log.appendLine('[fireside] the server stopped unexpectedly: restarting it');
      this.status.setModel(undefined);
      this.status.setServerState('starting');
      return { action: CloseAction.Restart, handled: true };
    }
    // Logged before the user is told: the decision is final, and tests wait for this line rather than a clock.
    this.log.appendLine(`[fireside] the server's connection closed: left stopped (${decision.reason})`);
    if (decision.reason === 'failed-to-start') {
      this.fail(this.startFailureMessage());
    } else {
      this.fail('The server stopped unexpectedly several times in 3 minutes and is left stopped. The logs say why; "Fireside: Restart Server" starts it again.');
    }
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  /** Tells the user once, with the way to the logs; the server stays stopped until restarted. */
  private fail(problem: string): void {
    this.status.setProblem(problem);
    this.status.setServerState('failed');
    void vscode.window.showErrorMessage(`Fireside: ${problem}`, 'Show logs', 'Open settings').then((choice) => {
      if (choice === 'Show logs') {
        this.log.show(true);
      } else if (choice === 'Open settings') {
        void openSettings();
      }
    });
  }

  async stop(): Promise<void> {
    const client = this.current;
    this.current = undefined;
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
    this.status.clearBusy();
    this.status.setServerState('stopped');
  }

  async restart(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await this.stop();
    await this.start();
  }

  dispose(): void {
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}
