/**
 * The one function that decides how the Fireside server is launched. Order:
 *   1. `fireside.path` (the `fireside` executable), 2. `fireside.interpreter` (a Python that has Fireside),
 *   3. the Python extension's active interpreter, if it has Fireside, 4. `.venv` in a workspace folder,
 *   5. `fireside` on PATH.
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
  /** The PATH environment variable. */
  envPath: string;
  platform: NodeJS.Platform;
  home: string;
}

export interface Probe {
  isExecutable(file: string): Promise<boolean>;
  /** Whether `python -c "import fireside"` succeeds. */
  importsFireside(python: string): Promise<boolean>;
}

export type Resolution =
  | { ok: true; launch: LaunchCommand }
  | { ok: false; problem: string; fix: string; tried: string[] };

const SERVE = ['serve'];
const MODULE_SERVE = ['-m', 'fireside', 'serve'];

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

export async function resolveServer(inputs: ResolveInputs, probe: Probe): Promise<Resolution> {
  const firstFolder = inputs.workspaceFolders[0];
  const tried: string[] = [];

  if (inputs.pathSetting.trim() !== '') {
    const file = expandPath(inputs.pathSetting, inputs.home, firstFolder);
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

  const p = paths(inputs.platform);
  const name = inputs.platform === 'win32' ? 'fireside.exe' : 'fireside';
  for (const dir of inputs.envPath.split(p.delimiter)) {
    if (dir === '') {
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
    fix: 'Install Fireside (pip install fireside, in the workspace\'s .venv or the selected Python interpreter), or set fireside.path to the fireside executable.',
    tried,
  };
}
