import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertDetail, alertKey, alertTitle, AlertStore, parseAlert } from '../src/alerts';
import { Alert } from '../src/protocol';

function alert(status: 'firing' | 'resolved', overrides: Partial<Alert> = {}): Alert {
  return {
    labels: { alertname: 'FiresideAnomaly', query: 'rate(errors[5m])', instance: 'a' },
    status,
    severity: 'warning',
    summary: 'errors rate is anomalous',
    feature_description: 'the value jumped',
    value: 12.5,
    score: 0.91,
    threshold: 0.7,
    starts_at: 1767225600,
    generator_url: 'http://127.0.0.1:9090/graph?g0.expr=rate(errors[5m])',
    ...overrides,
  };
}

test('a new firing alert is announced once; re-sends only update it', () => {
  const store = new AlertStore();
  assert.equal(store.apply(alert('firing'), 0), 'fired');
  assert.equal(store.apply(alert('firing', { value: 13 }), 1), 'updated');
  assert.equal(store.firing().length, 1);
  assert.equal(store.firing()[0].value, 13);
});

test('resolving removes the alert; resolving an unknown alert is ignored', () => {
  const store = new AlertStore();
  store.apply(alert('firing'), 0);
  assert.equal(store.apply(alert('resolved'), 1), 'resolved');
  assert.deepEqual(store.firing(), []);
  assert.equal(store.apply(alert('resolved'), 2), 'ignored');
  assert.equal(store.apply(alert('firing'), 3), 'fired', 'firing again after resolving is news');
});

test('alerts are told apart by labels, in any order, and listed newest first', () => {
  const store = new AlertStore();
  store.apply(alert('firing', { labels: { b: '2', a: '1' }, starts_at: 1767225600 }), 0);
  assert.equal(store.apply(alert('firing', { labels: { a: '1', b: '2' } }), 1), 'updated');
  store.apply(alert('firing', { labels: { a: '9' }, starts_at: 1769904000 }), 2);
  assert.deepEqual(store.firing().map((a) => a.labels.a), ['9', '1']);
  assert.equal(alertKey(alert('firing', { labels: { b: '2', a: '1' } })), alertKey(alert('firing', { labels: { a: '1', b: '2' } })));
});

test("the server's showMessage for an alert just shown is an echo; other messages are not", () => {
  const store = new AlertStore();
  store.apply(alert('firing'), 1000);
  assert.equal(store.isEcho('Fireside Anomaly: errors rate is anomalous — the value jumped', 1500), true);
  assert.equal(store.isEcho('Fireside Anomaly: errors rate is anomalous — the value jumped', 60_000), false);
  assert.equal(store.isEcho('Fireside: invalid setting from settings: threads=-1', 1500), false);
});

test('malformed payloads are rejected', () => {
  assert.equal(parseAlert(null), undefined);
  assert.equal(parseAlert({ status: 'firing' }), undefined);
  assert.equal(parseAlert({ labels: [], status: 'firing' }), undefined);
  assert.equal(parseAlert({ labels: {}, status: 'exploded' }), undefined);
  assert.deepEqual(parseAlert({ labels: { a: '1' }, status: 'resolved' }), { labels: { a: '1' }, status: 'resolved' });
});

test('titles and details read well', () => {
  assert.equal(alertTitle(alert('firing')), 'errors rate is anomalous');
  assert.equal(alertTitle({ labels: { alertname: 'X' }, status: 'firing' }), 'X');
  assert.equal(alertDetail(alert('firing')), 'the value jumped · value 12.5 · score 0.910 > 0.700');
  assert.equal(alertDetail({ labels: {}, status: 'firing' }), '');
});
