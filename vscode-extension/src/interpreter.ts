/**
 * The one function that decides how the Fireside server is launched. Order:
 *   1. `fireside.path` (the `fireside` executable), 2. `fireside.interpreter` (a Python that has Fireside),
 *   3. the Python extension's active interpreter, if it has Fireside, 4. `.venv` in a workspace folder,
 *   5. `fireside` on PATH.
 * In an untrusted workspace nothing of the workspace runs: the caller passes only the user-level values of
 * the two settings, and steps 3 and 4 are skipped (the selected interpreter may well be the workspace's
 * `.venv`), as are PATH entries inside a workspace folder. PATH entries that are not absolute never count.
 * Python is started with `-P` (and, by the caller, in a neutral working directory), so a `fireside/`
 * package in the workspace cannot shadow Fireside's own modules.
 * A setting the user gave is authoritative: when it is wrong the answer says so instead of quietly
 * launching something else. No `vscode` import: the file system is reached through `Probe`.
 */
import * as path from 'path';

export interface LaunchCommand {
  command: string;
  args: string[];
  /** Where the command came from, for the logs and the status tooltip. */
  source: string;
}

export interface ResolveInputs {
  pathSetting: string;
  interpreterSetting: string;
  /**
   * The Python extension's interpreter for the workspace (undefined when it is not installed). Asked only when
   * neither setting names the server: it may activate the Python extension.
   */
  pythonExtensionInterpreter: () => Promise<string | undefined>;
  workspaceFolders: readonly string[];
  /** Whether the user trusts the workspace (VS Code's workspace trust). */
  trusted: boolean;
  /** The PATH environment variable. */
  envPath: string;
  platform: NodeJS.Platform;
  home: string;
}

export interface Probe {
  isExecutable(file: string): Promise<boolean>;
  /** Whether `python -P -c "import fireside"` succeeds (run from a neutral directory). */
  importsFireside(python: string): Promise<boolean>;
}

export type Resolution =
  | { ok: true; launch: LaunchCommand }
  | { ok: false; problem: string; fix: string; tried: string[] };

const SERVE = ['serve'];
/** `-P`: no script directory or working directory on sys.path (Python 3.11+, which Fireside requires). */
export const SAFE_PATH = '-P';
const MODULE_SERVE = [SAFE_PATH, '-m', 'fireside', 'serve'];

/** `~` and `${workspaceFolder}` in a path setting, as users write them. */
export function expandPath(value: string, home: string, workspaceFolder: string | undefined): string {
  let expanded = value.trim();
  if (expanded === '~' || expanded.startsWith('~/')) {
    expanded = home + expanded.slice(1);
  }
  if (workspaceFolder !== undefined) {
    expanded = expanded.split('${workspaceFolder}').join(workspaceFolder);
  }
  return expanded;
}

function paths(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** Where a virtual environment keeps an executable. */
export function venvExecutable(folder: string, name: string, platform: NodeJS.Platform): string {
  const p = paths(platform);
  return platform === 'win32' ? p.join(folder, '.venv', 'Scripts', `${name}.exe`) : p.join(folder, '.venv', 'bin', name);
}

/** A setting's program that must not run because it belongs to the untrusted workspace (undefined: it may run). */
function untrustedProgram(inputs: ResolveInputs, setting: string, file: string): Resolution | undefined {
  const p = paths(inputs.platform);
  if (inputs.trusted || (p.isAbsolute(file) && !inputs.workspaceFolders.some((folder) => isInside(p, file, folder)))) {
    return undefined;
  }
  return {
    ok: false,
    problem: `${setting} is "${file}", which is inside this untrusted workspace (or relative): it is not run.`,
    fix: `Trust the workspace, or point ${setting} at a program outside it (an absolute path).`,
    tried: [file],
  };
}

export async function resolveServer(inputs: ResolveInputs, probe: Probe): Promise<Resolution> {
  const firstFolder = inputs.workspaceFolders[0];
  const tried: string[] = [];

  if (inputs.pathSetting.trim() !== '') {
    const file = expandPath(inputs.pathSetting, inputs.home, firstFolder);
    const refused = untrustedProgram(inputs, 'fireside.path', file);
    if (refused !== undefined) {
      return refused;
    }
    if (await probe.isExecutable(file)) {
      return { ok: true, launch: { command: file, args: SERVE, source: 'the fireside.path setting' } };
    }
    return {
      ok: false,
      problem: `fireside.path is "${file}", which is not an executable file.`,
      fix: 'Set fireside.path to the fireside executable (for example /path/to/project/.venv/bin/fireside), or clear it to let Fireside search.',
      tried: [file],
    };
  }

  if (inputs.interpreterSetting.trim() !== '') {
    const python = expandPath(inputs.interpreterSetting, inputs.home, firstFolder);
    const refused = untrustedProgram(inputs, 'fireside.interpreter', python);
    if (refused !== undefined) {
      return refused;
    }
    if (!(await probe.isExecutable(python))) {
      return {
        ok: false,
        problem: `fireside.interpreter is "${python}", which is not an executable file.`,
        fix: 'Set fireside.interpreter to a Python interpreter that has Fireside installed, or clear it to let Fireside search.',
        tried: [python],
      };
    }
    if (!(await probe.importsFireside(python))) {
      return {
        ok: false,
        problem: `fireside.interpreter is "${python}", which cannot import fireside.`,
        fix: `Install Fireside into it ("${python}" -m pip install fireside), or point fireside.interpreter at an interpreter that has it.`,
        tried: [python],
      };
    }
    return { ok: true, launch: { command: python, args: MODULE_SERVE, source: 'the fireside.interpreter setting' } };
  }

  const p = paths(inputs.platform);
  if (inputs.trusted) {
    const active = await inputs.pythonExtensionInterpreter();
    if (active !== undefined && active !== '') {
      if ((await probe.isExecutable(active)) && (await probe.importsFireside(active))) {
        return { ok: true, launch: { command: active, args: MODULE_SERVE, source: "the Python extension's interpreter" } };
      }
      tried.push(`${active} (the Python extension's interpreter: no fireside module)`);
    }

    for (const folder of inputs.workspaceFolders) {
      const file = venvExecutable(folder, 'fireside', inputs.platform);
      if (await probe.isExecutable(file)) {
        return { ok: true, launch: { command: file, args: SERVE, source: `.venv in ${folder}` } };
      }
      tried.push(file);
    }
  } else {
    tried.push("the workspace's .venv and the Python extension's interpreter (not in an untrusted workspace)");
  }

  const name = inputs.platform === 'win32' ? 'fireside.exe' : 'fireside';
  for (const dir of inputs.envPath.split(p.delimiter)) {
    if (dir === '' || !p.isAbsolute(dir) || (!inputs.trusted && inputs.workspaceFolders.some((folder) => isInside(p, dir, folder)))) {
      continue;
    }
    const file = p.join(dir, name);
    if (await probe.isExecutable(file)) {
      return { ok: true, launch: { command: file, args: SERVE, source: 'PATH' } };
    }
  }
  tried.push(`${name} on PATH`);

  return {
    ok: false,
    problem: 'The Fireside server was not found.',
    fix: inputs.trusted
      ? 'Install Fireside (pip install fireside, in the workspace\'s .venv or the selected Python interpreter), or set fireside.path to the fireside executable.'
      : "This workspace is not trusted, so its .venv is not used: set fireside.path (or fireside.interpreter) in your user settings, or trust the workspace.",
    tried,
  };
}

/** Whether `dir` is `folder` or inside it. */
function isInside(p: path.PlatformPath, dir: string, folder: string): boolean {
  const relative = p.relative(folder, dir);
  return relative === '' || (!relative.startsWith('..') && !p.isAbsolute(relative));
}
