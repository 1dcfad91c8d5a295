/**
 * "Fireside: Generate Hypothesis tests": the server's code action (kind source.fireside.generateTests)
 * for the function at the cursor, or for every top-level function and class of the file when the
 * cursor is outside them; each action is resolved (the server generates and verifies the tests) and
 * its WorkspaceEdit applied.
 */
import * as vscode from 'vscode';
import { CodeAction, CodeActionKind, CodeActionRequest, CodeActionResolveRequest, CodeActionTriggerKind } from 'vscode-languageclient';
import { LanguageClient } from 'vscode-languageclient/node';
import { GENERATE_TESTS_KIND } from './protocol';
import { topLevelDefinitionLines } from './sourceLines';

async function actionsAt(client: LanguageClient, document: vscode.TextDocument, line: number): Promise<CodeAction[]> {
  const position = { line, character: 0 };
  const result = await client.sendRequest(CodeActionRequest.type, {
    textDocument: { uri: client.code2ProtocolConverter.asUri(document.uri) },
    range: { start: position, end: position },
    context: { diagnostics: [], only: [GENERATE_TESTS_KIND as CodeActionKind], triggerKind: CodeActionTriggerKind.Invoked },
  });
  return (result ?? []).filter((action): action is CodeAction => 'kind' in action && action.kind === GENERATE_TESTS_KIND);
}

/** The files a WorkspaceEdit creates or edits, in order. */
function touchedUris(edit: CodeAction['edit']): string[] {
  const uris: string[] = [];
  for (const change of edit?.documentChanges ?? []) {
    const uri = 'textDocument' in change ? change.textDocument.uri : 'uri' in change ? change.uri : undefined;
    if (uri !== undefined && !uris.includes(uri)) {
      uris.push(uri);
    }
  }
  return uris;
}

export async function generateTests(client: LanguageClient | undefined, log: vscode.OutputChannel): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined || editor.document.languageId !== 'python') {
    void vscode.window.showInformationMessage('Fireside: open a Python file to generate Hypothesis tests for it.');
    return;
  }
  if (client === undefined || !client.isRunning()) {
    void vscode.window.showWarningMessage('Fireside: the server is not running.', 'Restart').then((choice) => {
      if (choice === 'Restart') {
        void vscode.commands.executeCommand('fireside.restart');
      }
    });
    return;
  }
  const document = editor.document;
  let actions = await actionsAt(client, document, editor.selection.active.line);
  if (actions.length === 0) {
    // Outside any function: the whole file, one action per top-level definition.
    const seen = new Set<string>();
    for (const line of topLevelDefinitionLines(document.getText())) {
      for (const action of await actionsAt(client, document, line)) {
        if (!seen.has(action.title)) {
          seen.add(action.title);
          actions.push(action);
        }
      }
    }
  }
  if (actions.length === 0) {
    void vscode.window.showInformationMessage('Fireside: no function or class to generate tests for here.');
    return;
  }
  const opened: string[] = [];
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'Fireside: generating Hypothesis tests' },
    async () => {
      for (const action of actions) {
        log.appendLine(`[generate tests] ${action.title}`);
        const resolved = await client.sendRequest(CodeActionResolveRequest.type, action);
        if (resolved.edit === undefined) {
          log.appendLine(`[generate tests] ${action.title}: the server returned no edit`);
          continue;
        }
        const edit = await client.protocol2CodeConverter.asWorkspaceEdit(resolved.edit);
        if (!(await vscode.workspace.applyEdit(edit))) {
          void vscode.window.showErrorMessage(`Fireside: could not apply the tests for ${action.title}.`);
          continue;
        }
        for (const uri of touchedUris(resolved.edit)) {
          // Saved at once: the server plans the next action's edit from the test file on disk.
          const testDocument = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
          if (testDocument.isDirty) {
            await testDocument.save();
          }
          if (!opened.includes(uri)) {
            opened.push(uri);
          }
        }
      }
    },
  );
  for (const uri of opened) {
    await vscode.window.showTextDocument(vscode.Uri.parse(uri), { preview: false });
  }
}
