import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CrashPolicy } from '../src/crashPolicy';
import { StatusParams } from '../src/protocol';
import { topLevelDefinitionLines } from '../src/sourceLines';
import { serverLogLevel, withoutTimestamp } from '../src/serverLog';
import { parseStatus, statusView } from '../src/status';

const ready: StatusParams = { state: 'ready', model: 'embedded', message: 'ready' };

test('the status bar shows each state', () => {
  assert.equal(statusView({ server: 'starting', busy: 0 }).text, '$(loading~spin) Fireside');
  assert.equal(statusView({ server: 'running', model: { ...ready, state: 'loading' }, busy: 0 }).text, '$(loading~spin) Fireside');
  assert.equal(statusView({ server: 'running', model: ready, busy: 0 }).text, '$(flame) Fireside');
  assert.equal(statusView({ server: 'running', model: ready, busy: 2 }).text, '$(sync~spin) Fireside');
  const degraded = statusView({ server: 'running', model: { state: 'degraded', model: 'x.gguf', message: 'not a GGUF file' }, busy: 0 });
  assert.equal(degraded.severity, 'warning');
  assert.match(degraded.tooltip, /not a GGUF file/);
  const off = statusView({ server: 'running', model: ready, busy: 0, language: { id: 'rust', enabled: false } });
  assert.equal(off.text, '$(circle-slash) Fireside');
  assert.match(off.tooltip, /off for rust/);
  const failed = statusView({ server: 'failed', busy: 0, problem: 'fireside.path is wrong' });
  assert.equal(failed.severity, 'error');
  assert.match(failed.tooltip, /fireside\.path is wrong/);
  assert.equal(failed.summary, 'Fireside is not running: fireside.path is wrong');
  assert.equal(failed.tooltip, `${failed.summary} — click for the menu`);
  assert.equal(statusView({ server: 'stopped', model: ready, busy: 0 }).text, '$(circle-slash) Fireside');
});

test('degraded outranks language and busy; language outranks busy', () => {
  const view = statusView({ server: 'running', model: { ...ready, state: 'degraded' }, busy: 1, language: { id: 'rust', enabled: false } });
  assert.equal(view.text, '$(warning) Fireside');
  assert.equal(statusView({ server: 'running', model: ready, busy: 1, language: { id: 'rust', enabled: false } }).text, '$(circle-slash) Fireside');
});

test('fireside/status payloads are validated', () => {
  assert.deepEqual(parseStatus({ state: 'ready', model: 'm', message: 'ok' }), { state: 'ready', model: 'm', message: 'ok' });
  assert.deepEqual(parseStatus({ state: 'loading' }), { state: 'loading', model: '', message: '' });
  assert.equal(parseStatus({ state: 'happy' }), undefined);
  assert.equal(parseStatus('ready'), undefined);
});

test('a server that never started is not restarted (no error loop)', () => {
  const policy = new CrashPolicy();
  assert.deepEqual(policy.onClosed(0, false), { restart: false, reason: 'failed-to-start' });
});

test('a server that ran is restarted three times in three minutes, then left stopped', () => {
  const policy = new CrashPolicy(3, 180_000);
  assert.deepEqual(policy.onClosed(0, true), { restart: true });
  assert.deepEqual(policy.onClosed(1000, true), { restart: true });
  assert.deepEqual(policy.onClosed(2000, true), { restart: true });
  assert.deepEqual(policy.onClosed(3000, true), { restart: false, reason: 'crashed-repeatedly' });
  assert.deepEqual(policy.onClosed(400_000, true), { restart: true }, 'old crashes are forgotten');
});

test('top-level definitions are found for "generate tests for the file"', () => {
  const source = 'import os\n\ndef a(x):\n    def inner():\n        pass\n\nasync def b():\n    pass\nclass C:\n    def m(self): ...\n';
  assert.deepEqual(topLevelDefinitionLines(source), [2, 6, 8]);
});

test("the server's log lines keep their level in the output channel", () => {
  assert.equal(serverLogLevel('2026-11-25 16:02:52,119 INFO fireside.context.workspace: indexed 1 files'), 'info');
  assert.equal(serverLogLevel('2026-11-25 16:02:52,119 WARNING fireside.lsp.server: bad'), 'warn');
  assert.equal(serverLogLevel('2026-11-25 16:02:52,119 ERROR fireside.lsp.server: failed'), 'error');
  assert.equal(serverLogLevel('2026-11-25 16:02:52,119 CRITICAL x: y'), 'error');
  assert.equal(serverLogLevel('2026-11-25 16:02:52,119 DEBUG x: y'), 'debug');
  assert.equal(serverLogLevel('llama_kv_cache_iswa: using full-size SWA cache'), 'info');
  assert.equal(withoutTimestamp('2026-11-25 16:02:52,119 INFO a: b'), 'INFO a: b');
  assert.equal(withoutTimestamp('Traceback (most recent call last):'), 'Traceback (most recent call last):');
});
