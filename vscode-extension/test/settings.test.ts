import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  affectsServer,
  CLIENT_ONLY_SETTINGS,
  enabledFor,
  needsRestart,
  RESTRICTED_SETTINGS,
  restrictedArgs,
  serverSettingNames,
  serverSettings,
  stringListSetting,
  stringSetting,
} from '../src/settings';

const packageJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
const contributed = Object.keys(packageJson.contributes.configuration.properties);

test('server settings are the contributed ones minus the client-only and the restricted ones', () => {
  const names = serverSettingNames(contributed);
  assert.ok(names.includes('maxTokens'));
  assert.ok(!names.includes('modelPath'), 'restricted: a flag, never an LSP setting');
  for (const clientOnly of CLIENT_ONLY_SETTINGS) {
    assert.ok(!names.includes(clientOnly), clientOnly);
    assert.ok(contributed.includes(`fireside.${clientOnly}`), `package.json declares fireside.${clientOnly}`);
  }
  for (const restricted of Object.keys(RESTRICTED_SETTINGS)) {
    assert.ok(contributed.includes(`fireside.${restricted}`), `package.json declares fireside.${restricted}`);
    assert.equal(packageJson.contributes.configuration.properties[`fireside.${restricted}`].scope, 'machine', restricted);
    assert.ok(packageJson.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(`fireside.${restricted}`), restricted);
  }
  assert.equal(names.length, contributed.length - CLIENT_ONLY_SETTINGS.size - Object.keys(RESTRICTED_SETTINGS).length);
  assert.deepEqual(serverSettingNames(['other.maxTokens', 'fireside.path', 'fireside.threads']), ['threads']);
});

test('only the values the user set are sent, under their camelCase names', () => {
  const user: Record<string, unknown> = { maxTokens: 32, enabledLanguages: ['python', 'rust'], path: '/x/fireside' };
  const sent = serverSettings(['maxTokens', 'threads', 'enabledLanguages'], (name) => user[name]);
  assert.deepEqual(sent, { maxTokens: 32, enabledLanguages: ['python', 'rust'] });
});

test('the restricted settings become flags, from the values given to it (the user\'s) only', () => {
  const user: Record<string, unknown> = {
    modelPath: '~/models/qwen.gguf',
    endpoints: ['https://a.example', 'http://127.0.0.1:8000', 42],
    endpointApiKeyEnv: 'MY_KEY',
    prometheusUrl: '',
    monitorConfig: 7,
    modelsDir: '-rf',
  };
  assert.deepEqual(restrictedArgs((name) => user[name]), [
    '--model=~/models/qwen.gguf',
    '--models-dir=-rf',
    '--endpoint=https://a.example',
    '--endpoint=http://127.0.0.1:8000',
    '--endpoint-api-key-env=MY_KEY',
  ]);
  assert.deepEqual(restrictedArgs(() => undefined), []);
});

test('a change of path, interpreter, languages or a restricted setting restarts the server; other server settings are pushed', () => {
  const changed = (...keys: string[]) => (section: string) => keys.includes(section);
  assert.equal(needsRestart(changed('fireside.endpointApiKeyEnv')), true);
  assert.equal(needsRestart(changed('fireside.modelPath')), true);
  assert.equal(needsRestart(changed('fireside.path')), true);
  assert.equal(needsRestart(changed('fireside.interpreter')), true);
  assert.equal(needsRestart(changed('fireside.enabledLanguages')), true);
  assert.equal(needsRestart(changed('fireside.maxTokens')), false);
  assert.equal(affectsServer(['maxTokens', 'threads'], changed('fireside.maxTokens')), true);
  assert.equal(affectsServer(['maxTokens', 'threads'], changed('fireside.enable')), false);
});

test('completions are on for a language only when both switches agree', () => {
  assert.equal(enabledFor('python', true, ['python']), true);
  assert.equal(enabledFor('python', false, ['python']), false);
  assert.equal(enabledFor('rust', true, ['python']), false);
});

test('wrongly typed client settings count as their defaults instead of breaking the start', () => {
  assert.equal(stringSetting('/x/fireside'), '/x/fireside');
  assert.equal(stringSetting(null), '');
  assert.equal(stringSetting(42), '');
  assert.equal(stringSetting(undefined), '');
  assert.deepEqual(stringListSetting(['python', 'rust'], ['python']), ['python', 'rust']);
  assert.deepEqual(stringListSetting('python', ['python']), ['python']);
  assert.deepEqual(stringListSetting([1, 'python'], ['python']), ['python']);
  assert.deepEqual(stringListSetting(null, ['python']), ['python']);
});
