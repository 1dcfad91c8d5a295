/** What the status-bar item says. No `vscode` import. */
import { StatusParams } from './protocol';

export { parseStatus } from './protocol';

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
  /** What Fireside is doing, in a sentence (the menu's title). */
  summary: string;
  /** The summary and how to reach the menu. */
  tooltip: string;
  severity: 'normal' | 'warning' | 'error';
}

export function statusView(inputs: StatusInputs): StatusView {
  const view = describe(inputs);
  return { ...view, tooltip: `${view.summary} — click for the menu` };
}

function describe(inputs: StatusInputs): Omit<StatusView, 'tooltip'> {
  if (inputs.server === 'failed') {
    return { text: '$(error) Fireside', summary: `Fireside is not running: ${inputs.problem ?? 'see the logs'}`, severity: 'error' };
  }
  if (inputs.server === 'stopped') {
    return { text: '$(circle-slash) Fireside', summary: 'Fireside is stopped', severity: 'normal' };
  }
  if (inputs.server === 'starting' || inputs.model === undefined || inputs.model.state === 'loading') {
    return { text: '$(loading~spin) Fireside', summary: 'Fireside is loading the model', severity: 'normal' };
  }
  if (inputs.model.state === 'degraded') {
    return { text: '$(warning) Fireside', summary: `Fireside has no model: ${inputs.model.message}`, severity: 'warning' };
  }
  if (inputs.language !== undefined && !inputs.language.enabled) {
    return { text: '$(circle-slash) Fireside', summary: `Fireside is off for ${inputs.language.id}`, severity: 'normal' };
  }
  if (inputs.busy > 0) {
    return { text: '$(sync~spin) Fireside', summary: `Fireside is completing (${inputs.model.model})`, severity: 'normal' };
  }
  return { text: '$(flame) Fireside', summary: `Fireside is ready (${inputs.model.model})`, severity: 'normal' };
}
