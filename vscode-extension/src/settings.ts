/**
 * Which `fireside.*` settings go to the server, and how. The server's config model
 * (server/fireside/config.py) rejects unknown keys, so the client-only settings never reach it.
 * No `vscode` import: unit-tested in plain Node.
 */

export const SECTION = 'fireside';

/** Settings the extension itself uses; never sent to the server. */
export const CLIENT_ONLY_SETTINGS: ReadonlySet<string> = new Set(['enable', 'path', 'interpreter', 'trace.server']);

/**
 * Server settings that load a file, contact a server or name a secret, and the `fireside serve` flag for each
 * (mirrors RESTRICTED_SETTINGS in server/fireside/config.py). The server takes them only from its command line,
 * because an editor's settings may be a workspace's; the extension passes the user-level values (never a
 * workspace's) as these flags.
 */
export const RESTRICTED_SETTINGS: Readonly<Record<string, string>> = {
  modelPath: '--model',
  modelsDir: '--models-dir',
  endpoints: '--endpoint',
  endpointApiKeyEnv: '--endpoint-api-key-env',
  prometheusUrl: '--prometheus-url',
  alertmanagerUrl: '--alertmanager-url',
  monitorConfig: '--monitor-config',
};

/** Settings whose change needs a new server process (how it is started, or which documents it sees). */
export const RESTART_SETTINGS: readonly string[] = ['path', 'interpreter', 'enabledLanguages', ...Object.keys(RESTRICTED_SETTINGS)];

/**
 * The settings sent to the server over LSP, among the keys of `contributes.configuration.properties`
 * ("fireside.maxTokens" → "maxTokens"): neither the client's own nor the restricted ones (those are flags).
 */
export function serverSettingNames(contributedKeys: Iterable<string>): string[] {
  const names: string[] = [];
  for (const key of contributedKeys) {
    if (!key.startsWith(`${SECTION}.`)) {
      continue;
    }
    const name = key.slice(SECTION.length + 1);
    if (!CLIENT_ONLY_SETTINGS.has(name) && !(name in RESTRICTED_SETTINGS)) {
      names.push(name);
    }
  }
  return names;
}

/**
 * The `fireside serve` flags for the restricted settings, from `userValue(name)`: the value in the user's
 * settings only (`inspect().globalValue`). Values of the wrong type are left out (the server's default).
 */
export function restrictedArgs(userValue: (name: string) => unknown): string[] {
  const args: string[] = [];
  for (const [name, flag] of Object.entries(RESTRICTED_SETTINGS)) {
    const value = userValue(name);
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      if (typeof item === 'string' && item.trim() !== '') {
        args.push(`${flag}=${item.trim()}`); // one argument: a value starting with "-" stays a value
      }
    }
  }
  return args;
}

/**
 * The settings object the server receives (initializationOptions, workspace/configuration and
 * didChangeConfiguration): server settings only, camelCase, as the user set them.
 * Values VS Code reports as undefined are left out so that the server uses its defaults.
 */
export function serverSettings(names: readonly string[], get: (name: string) => unknown): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const name of names) {
    const value = get(name);
    if (value !== undefined) {
      settings[name] = value;
    }
  }
  return settings;
}

/** Whether a configuration change (asked per affected `fireside.X` key) needs a new server process. */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_SETTINGS.some((name) => affects(`${SECTION}.${name}`));
}

/** Whether any server setting changed (then the server is told through didChangeConfiguration). */
export function affectsServer(names: readonly string[], affects: (section: string) => boolean): boolean {
  return names.some((name) => affects(`${SECTION}.${name}`));
}

/** Whether completions are on for a language: the client switch and the server's language list agree. */
export function enabledFor(languageId: string, clientEnabled: boolean, enabledLanguages: readonly string[]): boolean {
  return clientEnabled && enabledLanguages.includes(languageId);
}

/**
 * A string setting as the client uses it: settings.json can hold any JSON value (null, a number), and VS Code
 * hands it over unchecked; anything but a string counts as empty (the default).
 */
export function stringSetting(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** A list-of-strings setting as the client uses it; anything else is the fallback (the server reports it). */
export function stringListSetting(value: unknown, fallback: readonly string[]): string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : [...fallback];
}
