import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAlert, parseModelChanged, parseModelRejected, parseStatus } from '../src/protocol';

/** What fireside.monitor.alert.Alert.to_dict() sends (server/fireside/monitor/alert.py). */
const SERVER_ALERT = {
  labels: { __name__: 'checkout_seconds', service: 'checkout' },
  status: 'firing',
  severity: 'error',
  summary: 'checkout latency is anomalous',
  feature: 'mean16',
  feature_description: 'value 523 above its 14-day range 100–480',
  score: 0.93,
  threshold: 0.5,
  value: 812.0,
  query: 'checkout_seconds',
  starts_at: 1767225600.5,
  ends_at: null,
  generator_url: 'http://127.0.0.1:9090/graph?g0.expr=checkout_seconds',
  alertname: 'FiresideAnomaly',
  annotations: { runbook: 'https://example.invalid/runbook' },
  reason: 'range_break',
  feature_value: 523.0,
  expected_min: 100.0,
  expected_max: 480.0,
};

test("every field of the server's alert survives parsing", () => {
  assert.deepEqual(parseAlert(SERVER_ALERT), SERVER_ALERT);
});

test('optional alert fields of the wrong type are dropped, not trusted', () => {
  const parsed = parseAlert({ ...SERVER_ALERT, starts_at: '2026-01-01T00:00:00Z', score: 'high', expected_min: 'x', severity: 'fatal', generator_url: 7 });
  assert.ok(parsed !== undefined);
  assert.equal(parsed.starts_at, undefined);
  assert.equal(parsed.score, undefined);
  assert.equal(parsed.expected_min, undefined);
  assert.equal(parsed.severity, undefined);
  assert.equal(parsed.generator_url, undefined);
  assert.equal(parsed.summary, SERVER_ALERT.summary);
  assert.equal(parseAlert({ ...SERVER_ALERT, labels: { nested: { a: 1 } } }), undefined, 'labels must be flat');
  assert.deepEqual(parseAlert({ labels: { port: 9090 }, status: 'resolved' })?.labels, { port: '9090' });
});

test('status payloads are parsed', () => {
  assert.deepEqual(parseStatus({ state: 'degraded', model: 'm', message: 'gone' }), { state: 'degraded', model: 'm', message: 'gone' });
  assert.equal(parseStatus([]), undefined);
  assert.equal(parseStatus('ready'), undefined);
});

test('model change notifications are parsed', () => {
  assert.deepEqual(parseModelChanged({ model: 'qwen', path: '/m/q.gguf', previous: null }), { model: 'qwen', path: '/m/q.gguf', previous: null });
  assert.deepEqual(parseModelChanged({ model: 'qwen', path: '/m/q.gguf', previous: '/m/old.gguf', reason: 'rollback' }), {
    model: 'qwen',
    path: '/m/q.gguf',
    previous: '/m/old.gguf',
    reason: 'rollback',
  });
  assert.equal(parseModelChanged({ model: 'qwen' }), undefined);
  assert.equal(parseModelChanged(null), undefined);
  assert.deepEqual(parseModelRejected({ path: '/m/bad.gguf', reason: 'not a GGUF' }), { path: '/m/bad.gguf', reason: 'not a GGUF' });
  assert.equal(parseModelRejected({ path: '/m/bad.gguf' }), undefined);
  assert.equal(parseModelRejected({ path: 3, reason: 'x' }), undefined);
});
