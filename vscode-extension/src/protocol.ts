/**
 * Fireside's custom LSP methods: the mirror of server/fireside/protocol.py (each declared once there).
 * Every feature works without them; they add the model's state, anomaly alerts and a sync check.
 * This module has no `vscode` import so that unit tests can load it.
 */

/** Direction: server → client notification. The model's state changed. */
export const STATUS_NOTIFICATION = 'fireside/status';

export type ModelState = 'loading' | 'ready' | 'degraded';

export interface StatusParams {
  state: ModelState;
  /** The model's path, or "embedded". */
  model: string;
  message: string;
}

/** Direction: client → server request. What the server holds for a document, to verify sync. */
export const DOCUMENT_INFO_REQUEST = 'fireside/documentInfo';

export interface DocumentInfoParams {
  textDocument: { uri: string };
}

/** The result of `fireside/documentInfo` (null when the server does not hold the document). */
export interface DocumentInfo {
  uri: string;
  version: number;
  /** Length in code points. */
  length: number;
  lineCount: number;
  /** SHA-256 of the UTF-8 text. */
  sha256: string;
}

/** Direction: server → client notification. An anomaly alert from `fireside monitor` fired or resolved. */
export const ALERT_NOTIFICATION = 'fireside/alert';

/** fireside.monitor.alert.Alert.to_dict(); only `labels` and `status` are always present. */
export interface Alert {
  labels: Record<string, string>;
  status: 'firing' | 'resolved';
  severity?: 'warning' | 'error';
  summary?: string;
  feature?: string;
  feature_description?: string;
  score?: number;
  threshold?: number;
  value?: number;
  query?: string;
  starts_at?: string;
  ends_at?: string | null;
  /** The Prometheus graph of the query. */
  generator_url?: string;
  alertname?: string;
  annotations?: Record<string, string>;
}

/**
 * The served model changed: a new or replaced GGUF in `modelsDir` passed validation and was swapped
 * in, or `fireside models rollback` named the previous one (also said with window/showMessage).
 * Direction: server → client notification.
 */
export const MODEL_CHANGED_NOTIFICATION = 'fireside/modelChanged';

export interface ModelChangedParams {
  /** The model's name. */
  model: string;
  /** The GGUF file now serving. */
  path: string;
  /** The file that served before (null when it was not from the models directory). */
  previous: string | null;
  reason?: 'rollback';
}

/**
 * A candidate GGUF in `modelsDir` failed validation; the current model keeps serving (also said with
 * window/showMessage). Direction: server → client notification.
 */
export const MODEL_REJECTED_NOTIFICATION = 'fireside/modelRejected';

export interface ModelRejectedParams {
  /** The rejected file. */
  path: string;
  /** The failed checks, for users. */
  reason: string;
}

/** The code action kind of "Generate Hypothesis tests for NAME" (server/fireside/lsp/code_actions.py). */
export const GENERATE_TESTS_KIND = 'source.fireside.generateTests';
