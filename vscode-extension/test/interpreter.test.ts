import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandPath, Probe, ResolveInputs, resolveServer, venvExecutable } from '../src/interpreter';

function inputs(
  overrides: Partial<Omit<ResolveInputs, 'pythonExtensionInterpreter'>> & { pythonExtensionInterpreter?: string } = {},
): ResolveInputs {
  const { pythonExtensionInterpreter, ...rest } = overrides;
  return {
    pathSetting: '',
    interpreterSetting: '',
    pythonExtensionInterpreter: async () => pythonExtensionInterpreter,
    workspaceFolders: ['/work/project'],
    trusted: true,
    envPath: '/usr/local/bin:/usr/bin',
    platform: 'linux',
    home: '/home/me',
    ...rest,
  };
}

/** A file system with these executables, and these interpreters that can import fireside. */
function probe(executables: string[], withFireside: string[] = []): Probe & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async isExecutable(file) {
      asked.push(file);
      return executables.includes(file);
    },
    async importsFireside(python) {
      return withFireside.includes(python);
    },
  };
}

test('fireside.path wins over everything else', async () => {
  const files = probe(['/opt/fireside/bin/fireside', '/work/project/.venv/bin/fireside', '/usr/bin/fireside']);
  const result = await resolveServer(inputs({ pathSetting: '/opt/fireside/bin/fireside', interpreterSetting: '/usr/bin/python3' }), files);
  assert.deepEqual(result, { ok: true, launch: { command: '/opt/fireside/bin/fireside', args: ['serve'], source: 'the fireside.path setting' } });
});

test("the Python extension is not asked when a setting names the server", async () => {
  let asked = 0;
  const python = async () => {
    asked += 1;
    return '/envs/a/bin/python';
  };
  const files = probe(['/opt/fireside/bin/fireside', '/usr/bin/python3', '/envs/a/bin/python'], ['/usr/bin/python3', '/envs/a/bin/python']);
  assert.equal((await resolveServer({ ...inputs({ pathSetting: '/opt/fireside/bin/fireside' }), pythonExtensionInterpreter: python }, files)).ok, true);
  assert.equal((await resolveServer({ ...inputs({ interpreterSetting: '/usr/bin/python3' }), pythonExtensionInterpreter: python }, files)).ok, true);
  assert.equal(asked, 0);
  assert.equal((await resolveServer({ ...inputs(), pythonExtensionInterpreter: python }, files)).ok, true);
  assert.equal(asked, 1);
});

test('a wrong fireside.path is reported, not replaced by something found elsewhere', async () => {
  const result = await resolveServer(inputs({ pathSetting: '~/missing/fireside' }), probe(['/usr/bin/fireside']));
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  assert.match(result.problem, /fireside\.path is "\/home\/me\/missing\/fireside", which is not an executable file/);
  assert.match(result.fix, /Set fireside\.path/);
});

test('fireside.interpreter runs python -m fireside serve when it can import fireside', async () => {
  const result = await resolveServer(inputs({ interpreterSetting: '/usr/bin/python3' }), probe(['/usr/bin/python3'], ['/usr/bin/python3']));
  assert.ok(result.ok);
  assert.deepEqual(result.launch.args, ['-P', '-m', 'fireside', 'serve']);
  assert.equal(result.launch.command, '/usr/bin/python3');
});

test('an interpreter without fireside is a clear error naming the fix', async () => {
  const result = await resolveServer(inputs({ interpreterSetting: '/usr/bin/python3' }), probe(['/usr/bin/python3', '/usr/bin/fireside']));
  assert.ok(!result.ok);
  assert.match(result.problem, /cannot import fireside/);
  assert.match(result.fix, /-m pip install fireside/);
});

test('a missing interpreter file is reported as such', async () => {
  const result = await resolveServer(inputs({ interpreterSetting: '/nope/python' }), probe([]));
  assert.ok(!result.ok);
  assert.match(result.problem, /not an executable file/);
});

test("the Python extension's interpreter comes before .venv and PATH, when it has fireside", async () => {
  const files = probe(['/envs/a/bin/python', '/work/project/.venv/bin/fireside', '/usr/bin/fireside'], ['/envs/a/bin/python']);
  const result = await resolveServer(inputs({ pythonExtensionInterpreter: '/envs/a/bin/python' }), files);
  assert.ok(result.ok);
  assert.equal(result.launch.command, '/envs/a/bin/python');
  assert.equal(result.launch.source, "the Python extension's interpreter");
});

test("the Python extension's interpreter without fireside is skipped for the workspace .venv", async () => {
  const files = probe(['/envs/a/bin/python', '/work/project/.venv/bin/fireside', '/usr/bin/fireside']);
  const result = await resolveServer(inputs({ pythonExtensionInterpreter: '/envs/a/bin/python' }), files);
  assert.ok(result.ok);
  assert.deepEqual(result.launch, { command: '/work/project/.venv/bin/fireside', args: ['serve'], source: '.venv in /work/project' });
});

test('PATH is searched in order, last', async () => {
  const result = await resolveServer(inputs(), probe(['/usr/bin/fireside', '/usr/local/bin/fireside']));
  assert.ok(result.ok);
  assert.equal(result.launch.command, '/usr/local/bin/fireside');
  assert.equal(result.launch.source, 'PATH');
});

test('nothing found: the answer lists what was tried and how to fix it', async () => {
  const result = await resolveServer(inputs({ pythonExtensionInterpreter: '/envs/a/bin/python' }), probe(['/envs/a/bin/python']));
  assert.ok(!result.ok);
  assert.equal(result.problem, 'The Fireside server was not found.');
  assert.deepEqual(result.tried, [
    "/envs/a/bin/python (the Python extension's interpreter: no fireside module)",
    '/work/project/.venv/bin/fireside',
    'fireside on PATH',
  ]);
  assert.match(result.fix, /set fireside\.path/);
});

test('Windows layouts: Scripts\\fireside.exe and ; in PATH', async () => {
  assert.equal(venvExecutable('C:\\proj', 'fireside', 'win32'), 'C:\\proj\\.venv\\Scripts\\fireside.exe');
  const result = await resolveServer(
    inputs({ platform: 'win32', workspaceFolders: [], envPath: 'C:\\a;C:\\tools' }),
    probe(['C:\\tools\\fireside.exe']),
  );
  assert.ok(result.ok);
  assert.equal(result.launch.command, 'C:\\tools\\fireside.exe');
});

test('expandPath understands ~ and ${workspaceFolder}', () => {
  assert.equal(expandPath(' ~/bin/fireside ', '/home/me', undefined), '/home/me/bin/fireside');
  assert.equal(expandPath('${workspaceFolder}/.venv/bin/fireside', '/home/me', '/w'), '/w/.venv/bin/fireside');
  assert.equal(expandPath('~other/x', '/home/me', undefined), '~other/x');
});

test('an untrusted workspace: neither its .venv nor the Python extension\'s interpreter, and PATH only outside it', async () => {
  let asked = 0;
  const python = async () => {
    asked += 1;
    return '/work/project/.venv/bin/python';
  };
  const files = probe(
    ['/work/project/.venv/bin/python', '/work/project/.venv/bin/fireside', '/work/project/bin/fireside', 'bin/fireside', '/usr/bin/fireside'],
    ['/work/project/.venv/bin/python'],
  );
  const untrusted = { ...inputs({ trusted: false, envPath: '/work/project/bin:bin:/usr/bin' }), pythonExtensionInterpreter: python };
  const result = await resolveServer(untrusted, files);
  assert.ok(result.ok);
  assert.deepEqual(result.launch, { command: '/usr/bin/fireside', args: ['serve'], source: 'PATH' });
  assert.equal(asked, 0, "the Python extension's interpreter is not even asked");
  assert.ok(!files.asked.some((file) => file.startsWith('/work/project')), files.asked.join(', '));
});

test('an untrusted workspace with nothing outside it says how to fix that', async () => {
  const result = await resolveServer(inputs({ trusted: false }), probe(['/work/project/.venv/bin/fireside']));
  assert.ok(!result.ok);
  assert.match(result.fix, /not trusted.*user settings.*trust the workspace/);
});

test('in an untrusted workspace a setting that points into it is refused, not run', async () => {
  const files = probe(['/work/project/.venv/bin/fireside', '/work/project/.venv/bin/python'], ['/work/project/.venv/bin/python']);
  for (const setting of [{ pathSetting: '${workspaceFolder}/.venv/bin/fireside' }, { interpreterSetting: '/work/project/.venv/bin/python' }, { pathSetting: '.venv/bin/fireside' }]) {
    const result = await resolveServer(inputs({ trusted: false, ...setting }), files);
    assert.ok(!result.ok);
    assert.match(result.problem, /inside this untrusted workspace/);
    assert.deepEqual(files.asked, [], 'not even looked at');
  }
  const trusted = await resolveServer(inputs({ pathSetting: '${workspaceFolder}/.venv/bin/fireside' }), files);
  assert.ok(trusted.ok, 'a trusted workspace may name its own .venv');
});

test('relative PATH entries never count', async () => {
  const result = await resolveServer(inputs({ envPath: '.:bin' }), probe(['fireside', 'bin/fireside']));
  assert.ok(!result.ok);
});
