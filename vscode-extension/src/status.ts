/** What the status-bar item says. No `vscode` import. */
import { StatusParams } from './protocol';

export type ServerState = 'starting' | 'running' | 'stopped' | 'failed';

export interface StatusInputs {
  server: ServerState;
  /** The last fireside/status, if any arrived. */
  model?: StatusParams;
  /** Completion requests in flight. */
  busy: number;
  /** The active editor's language, and whether completions are on for it (undefined: no editor). */
  language?: { id: string; enabled: boolean };
  /** Why the server is not running, when it failed. */
  problem?: string;
}

export interface StatusView {
  text: string;
  tooltip: string;
  severity: 'normal' | 'warning' | 'error';
}

export function statusView(inputs: StatusInputs): StatusView {
  const suffix = ' — click for the menu';
  if (inputs.server === 'failed') {
    return { text: '$(error) Fireside', tooltip: `Fireside is not running: ${inputs.problem ?? 'see the logs'}${suffix}`, severity: 'error' };
  }
  if (inputs.server === 'stopped') {
    return { text: '$(circle-slash) Fireside', tooltip: `Fireside is stopped${suffix}`, severity: 'normal' };
  }
  if (inputs.server === 'starting' || inputs.model === undefined || inputs.model.state === 'loading') {
    return { text: '$(loading~spin) Fireside', tooltip: `Fireside is loading the model${suffix}`, severity: 'normal' };
  }
  if (inputs.model.state === 'degraded') {
    return {
      text: '$(warning) Fireside',
      tooltip: `Fireside has no model: ${inputs.model.message}${suffix}`,
      severity: 'warning',
    };
  }
  if (inputs.language !== undefined && !inputs.language.enabled) {
    return { text: '$(circle-slash) Fireside', tooltip: `Fireside is off for ${inputs.language.id}${suffix}`, severity: 'normal' };
  }
  if (inputs.busy > 0) {
    return { text: '$(sync~spin) Fireside', tooltip: `Fireside is completing (${inputs.model.model})${suffix}`, severity: 'normal' };
  }
  return { text: '$(flame) Fireside', tooltip: `Fireside is ready (${inputs.model.model})${suffix}`, severity: 'normal' };
}

/** Parses a fireside/status payload; undefined for anything malformed. */
export function parseStatus(raw: unknown): StatusParams | undefined {
  if (typeof raw !== 'object' || raw === null) {
    return undefined;
  }
  const candidate = raw as Record<string, unknown>;
  if (candidate.state !== 'loading' && candidate.state !== 'ready' && candidate.state !== 'degraded') {
    return undefined;
  }
  return {
    state: candidate.state,
    model: typeof candidate.model === 'string' ? candidate.model : '',
    message: typeof candidate.message === 'string' ? candidate.message : '',
  };
}
