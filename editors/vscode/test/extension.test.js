// The extension starts `ipvsc lsp` for ipvs documents. `vscode` exists only inside the editor,
// so it and the language client are replaced by stand-ins that record what they are given.
'use strict';

const assert = require('node:assert');
const Module = require('node:module');
const path = require('node:path');
const test = require('node:test');

const started = [];
class FakeClient {
  constructor(...args) {
    this.args = args;
  }
  start() {
    started.push(this.args);
    return Promise.resolve();
  }
  stop() {
    return Promise.resolve();
  }
  dispose() {}
}

let serverPath;
const fakes = {
  vscode: {
    workspace: {
      getConfiguration: (section) => {
        assert.strictEqual(section, 'ipvs');
        return { get: (key) => (key === 'server.path' ? serverPath : undefined) };
      },
    },
  },
  'vscode-languageclient/node': { LanguageClient: FakeClient },
};
const load = Module._load;
Module._load = function (request, ...rest) {
  return request in fakes ? fakes[request] : load.call(this, request, ...rest);
};
const extension = require(path.join(__dirname, '..', 'extension.js'));

test('starts ipvsc lsp for ipvs documents', async () => {
  serverPath = undefined;
  const context = { subscriptions: [] };
  await extension.activate(context);
  const [id, name, server, client] = started.pop();
  assert.strictEqual(id, 'ipvs');
  assert.strictEqual(name, 'ipvsc');
  assert.deepStrictEqual(server, { command: 'ipvsc', args: ['lsp'] });
  assert.deepStrictEqual(client.documentSelector, [{ language: 'ipvs' }]);
  assert.strictEqual(context.subscriptions.length, 1);
  await extension.deactivate();
});

test('runs the program the setting names', async () => {
  serverPath = '/opt/ipvsc/bin/ipvsc';
  await extension.activate({ subscriptions: [] });
  assert.strictEqual(started.pop()[2].command, '/opt/ipvsc/bin/ipvsc');
});

test('the manifest wires the language, grammar, configuration and snippets', () => {
  const root = path.join(__dirname, '..');
  const manifest = require(path.join(root, 'package.json'));
  const [language] = manifest.contributes.languages;
  assert.strictEqual(language.id, 'ipvs');
  assert.deepStrictEqual(language.extensions, ['.ipvs']);
  const grammar = require(path.join(root, manifest.contributes.grammars[0].path));
  assert.strictEqual(grammar.scopeName, 'source.ipvs');
  const configuration = require(path.join(root, language.configuration));
  assert.strictEqual(configuration.comments.lineComment, '#');
  assert.deepStrictEqual(configuration.brackets[0], ['{', '}']);
  const snippets = require(path.join(root, manifest.contributes.snippets[0].path));
  assert.ok(snippets.service.body.join('\n').startsWith('service '));
  assert.ok(snippets.server.body.join('\n').startsWith('server '));
  for (const pattern of Object.values(configuration.indentationRules)) {
    new RegExp(pattern);
  }
  const increase = new RegExp(configuration.indentationRules.increaseIndentPattern);
  assert.ok(increase.test('service tcp 10.0.0.1:80 {'));
  assert.ok(!increase.test('service tcp 10.0.0.1:80 { scheduler rr }'));
  assert.ok(new RegExp(configuration.indentationRules.decreaseIndentPattern).test('  }'));
});
