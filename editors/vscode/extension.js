// Starts `ipvsc lsp` for ipvs documents: diagnostics, completion, hover, go to definition and
// formatting all come from the language server.
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

/** The options the language client is started with, from the `ipvs.server.path` setting. */
function clientArguments(configuration) {
  const command = configuration.get('server.path') || 'ipvsc';
  const serverOptions = { command, args: ['lsp'] };
  const clientOptions = {
    documentSelector: [{ language: 'ipvs' }],
  };
  return ['ipvs', 'ipvsc', serverOptions, clientOptions];
}

function activate(context) {
  const args = clientArguments(vscode.workspace.getConfiguration('ipvs'));
  client = new LanguageClient(...args);
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate, clientArguments };
