/**
 * Fireside's custom LSP methods: the mirror of server/fireside/protocol.py (each declared once there),
 * with the direction of each, and a parser for every payload the server sends: a notification is
 * used only after its parser accepted it (anything else is logged and dropped, never trusted).
 * Every feature works without these methods; they add the model's state, anomaly alerts, model
 * changes and a sync check. This module has no `vscode` import so that unit tests can load it.
 */

// ----- fireside/status ------------------------------------------------------------------------

/** Direction: server → client notification. The model's state changed. */
export const STATUS_NOTIFICATION = 'fireside/status';

export type ModelState = 'loading' | 'ready' | 'degraded';

export interface StatusParams {
  state: ModelState;
  /** The model's path, or "embedded". */
  model: string;
  message: string;
}

/** Parses a fireside/status payload; undefined for anything malformed. */
export function parseStatus(raw: unknown): StatusParams | undefined {
  const candidate = record(raw);
  if (candidate === undefined) {
    return undefined;
  }
  if (candidate.state !== 'loading' && candidate.state !== 'ready' && candidate.state !== 'degraded') {
    return undefined;
  }
  return {
    state: candidate.state,
    model: typeof candidate.model === 'string' ? candidate.model : '',
    message: typeof candidate.message === 'string' ? candidate.message : '',
  };
}

// ----- fireside/documentInfo --------------------------------------------------------------------

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

// ----- fireside/alert ---------------------------------------------------------------------------

/** Direction: server → client notification. An anomaly alert from `fireside monitor` fired or resolved. */
export const ALERT_NOTIFICATION = 'fireside/alert';

/**
 * fireside.monitor.alert.Alert.to_dict(). Only `labels` and `status` are required here: an optional
 * field of the wrong type is dropped by parseAlert, not trusted.
 */
export interface Alert {
  labels: Record<string, string>;
  status: 'firing' | 'resolved';
  severity?: 'warning' | 'error';
  summary?: string;
  /** The feature that drove the score, e.g. "mean16", "season". */
  feature?: string;
  /** Why, in words, e.g. "value 523 above its 14-day range 100–480". */
  feature_description?: string;
  /** Anomaly score in [0, 1); `threshold` is where evidence suffices. */
  score?: number;
  threshold?: number;
  /** The series' value at the point that fired. */
  value?: number | null;
  query?: string;
  /** Unix seconds. */
  starts_at?: number;
  /** Unix seconds; null while firing. */
  ends_at?: number | null;
  /** The Prometheus graph of the query. */
  generator_url?: string;
  alertname?: string;
  annotations?: Record<string, string>;
  /** "range_break" or "shape_change" (empty when the detector does not say). */
  reason?: string;
  /** The feature's value (e.g. the 16-point mean). */
  feature_value?: number | null;
  /** The range the feature was expected in. */
  expected_min?: number | null;
  expected_max?: number | null;
}

const ALERT_STRINGS = ['summary', 'feature', 'feature_description', 'query', 'generator_url', 'alertname', 'reason'] as const;
const ALERT_NUMBERS = ['score', 'threshold', 'starts_at'] as const;
const ALERT_NULLABLE_NUMBERS = ['value', 'ends_at', 'feature_value', 'expected_min', 'expected_max'] as const;

/** Validates a fireside/alert payload; undefined for anything that is not an alert. */
export function parseAlert(raw: unknown): Alert | undefined {
  const candidate = record(raw);
  const labels = stringRecord(candidate?.labels);
  if (candidate === undefined || labels === undefined) {
    return undefined;
  }
  if (candidate.status !== 'firing' && candidate.status !== 'resolved') {
    return undefined;
  }
  const alert: Alert = { labels, status: candidate.status };
  if (candidate.severity === 'warning' || candidate.severity === 'error') {
    alert.severity = candidate.severity;
  }
  for (const name of ALERT_STRINGS) {
    const value = candidate[name];
    if (typeof value === 'string') {
      alert[name] = value;
    }
  }
  for (const name of ALERT_NUMBERS) {
    const value = candidate[name];
    if (typeof value === 'number' && Number.isFinite(value)) {
      alert[name] = value;
    }
  }
  for (const name of ALERT_NULLABLE_NUMBERS) {
    const value = candidate[name];
    if (value === null || (typeof value === 'number' && Number.isFinite(value))) {
      alert[name] = value;
    }
  }
  const annotations = stringRecord(candidate.annotations);
  if (annotations !== undefined) {
    alert.annotations = annotations;
  }
  return alert;
}

// ----- fireside/modelChanged, fireside/modelRejected ---------------------------------------------

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

export function parseModelChanged(raw: unknown): ModelChangedParams | undefined {
  const candidate = record(raw);
  if (candidate === undefined || typeof candidate.model !== 'string' || typeof candidate.path !== 'string') {
    return undefined;
  }
  const params: ModelChangedParams = {
    model: candidate.model,
    path: candidate.path,
    previous: typeof candidate.previous === 'string' ? candidate.previous : null,
  };
  if (candidate.reason === 'rollback') {
    params.reason = 'rollback';
  }
  return params;
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

export function parseModelRejected(raw: unknown): ModelRejectedParams | undefined {
  const candidate = record(raw);
  if (candidate === undefined || typeof candidate.path !== 'string' || typeof candidate.reason !== 'string') {
    return undefined;
  }
  return { path: candidate.path, reason: candidate.reason };
}

// ----- errors and code action kinds --------------------------------------------------------------

/**
 * JSON-RPC error codes in answers to `initialize` over TCP/WebSocket (the server closes the connection
 * after sending them; data: {"retry": false}). Direction: server → client (error responses).
 */
export const AUTH_FAILED_ERROR = -32001;
export const SESSION_BUSY_ERROR = -32002;

/** The code action kind of "Generate Hypothesis tests for NAME" (server/fireside/lsp/code_actions.py). */
export const GENERATE_TESTS_KIND = 'source.fireside.generateTests';

// ----- helpers ----------------------------------------------------------------------------------

function record(raw: unknown): Record<string, unknown> | undefined {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
}

/** An object whose values are all strings (numbers and booleans are turned into strings); else undefined. */
function stringRecord(raw: unknown): Record<string, string> | undefined {
  const candidate = record(raw);
  if (candidate === undefined) {
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(candidate)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      out[key] = String(value);
    } else {
      return undefined;
    }
  }
  return out;
}
