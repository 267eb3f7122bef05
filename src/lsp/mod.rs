//! `ipvsc lsp`: a language server over standard input and output. It reuses the compiler for
//! diagnostics (the same as `ipvsc check`) and the formatter for formatting, and knows the words
//! of the language for completion and hover text.

mod completion;
mod context;
mod diagnostics;
mod navigate;
mod position;
mod symbols;
mod uri;
pub mod words;

use std::collections::HashMap;
use std::error::Error;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    notification, request, CompletionOptions, CompletionParams, CompletionResponse,
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    DocumentFormattingParams, GotoDefinitionParams, GotoDefinitionResponse, Hover, HoverContents,
    HoverParams, HoverProviderCapability, InitializeResult, MarkupContent, MarkupKind, OneOf,
    Position, PublishDiagnosticsParams, Range, SaveOptions, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, TextEdit, Uri,
};

use position::LineIndex;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// Serves one client over standard input and output until it asks to exit.
pub fn run_stdio() -> Result<()> {
    let (connection, io_threads) = Connection::stdio();
    serve(&connection)?;
    drop(connection);
    io_threads.join()?;
    Ok(())
}

/// What the server can do.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["$".to_string()]),
            ..CompletionOptions::default()
        }),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

/// Answers the `initialize` handshake, then serves requests until `shutdown` and `exit`.
pub fn serve(connection: &Connection) -> Result<()> {
    let (id, _params) = connection.initialize_start()?;
    let result = InitializeResult {
        capabilities: capabilities(),
        server_info: Some(ServerInfo {
            name: "ipvsc".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
    };
    connection.initialize_finish(id, serde_json::to_value(result)?)?;
    let mut server = Server {
        connection,
        documents: HashMap::new(),
        stale: Vec::new(),
    };
    while let Ok(message) = connection.receiver.recv() {
        if server.handle(message)? == Flow::Stop {
            return Ok(());
        }
        // Whatever else has arrived is handled before the documents are compiled again, so that
        // a burst of changes costs one compilation.
        while let Ok(message) = connection.receiver.try_recv() {
            if server.handle(message)? == Flow::Stop {
                return Ok(());
            }
        }
        server.publish_stale()?;
    }
    Ok(())
}

#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

struct Document {
    uri: Uri,
    text: String,
    /// The file, for `file:` URIs: includes are relative to it.
    path: Option<PathBuf>,
}

struct Server<'a> {
    connection: &'a Connection,
    documents: HashMap<String, Document>,
    /// Documents whose diagnostics are to be published again.
    stale: Vec<String>,
}

impl Server<'_> {
    fn send(&self, message: impl Into<Message>) -> Result<()> {
        self.connection.sender.send(message.into())?;
        Ok(())
    }

    fn handle(&mut self, message: Message) -> Result<Flow> {
        match message {
            Message::Request(req) => {
                if self.connection.handle_shutdown(&req)? {
                    return Ok(Flow::Stop);
                }
                let id = req.id.clone();
                let method = req.method.clone();
                let response = match catch_unwind(AssertUnwindSafe(|| self.request(req))) {
                    Ok(response) => response,
                    Err(_) => Response::new_err(
                        id,
                        ErrorCode::InternalError as i32,
                        format!("ipvsc failed answering {method}"),
                    ),
                };
                self.send(response)?;
            }
            Message::Notification(n) => {
                if n.method == notification::Exit::METHOD {
                    return Err("exit before shutdown".into());
                }
                // A notification has no answer: one that cannot be read is only logged.
                if let Err(e) = self.notification(n) {
                    eprintln!("ipvsc lsp: {e}");
                }
            }
            Message::Response(_) => {}
        }
        Ok(Flow::Continue)
    }

    fn notification(&mut self, n: Notification) -> Result<()> {
        match n.method.as_str() {
            notification::DidOpenTextDocument::METHOD => {
                let params: DidOpenTextDocumentParams = serde_json::from_value(n.params)?;
                let doc = params.text_document;
                self.open(doc.uri, doc.text);
            }
            notification::DidChangeTextDocument::METHOD => {
                let params: DidChangeTextDocumentParams = serde_json::from_value(n.params)?;
                // Full synchronisation: the last change holds the whole text.
                if let Some(change) = params.content_changes.into_iter().last() {
                    self.open(params.text_document.uri, change.text);
                }
            }
            notification::DidSaveTextDocument::METHOD => {
                // A saved file may be included by the others.
                self.stale = self.documents.keys().cloned().collect();
            }
            notification::DidCloseTextDocument::METHOD => {
                let params: DidCloseTextDocumentParams = serde_json::from_value(n.params)?;
                let key = params.text_document.uri.as_str().to_string();
                self.documents.remove(&key);
                self.stale.retain(|k| *k != key);
                self.publish(params.text_document.uri, Vec::new())?;
            }
            _ => {}
        }
        Ok(())
    }

    fn open(&mut self, uri: Uri, text: String) {
        let key = uri.as_str().to_string();
        let path = uri::to_path(&uri);
        self.documents
            .insert(key.clone(), Document { uri, text, path });
        if !self.stale.contains(&key) {
            self.stale.push(key);
        }
    }

    fn publish(&self, uri: Uri, diagnostics: Vec<lsp_types::Diagnostic>) -> Result<()> {
        let params = PublishDiagnosticsParams::new(uri, diagnostics, None);
        self.send(Notification::new(
            notification::PublishDiagnostics::METHOD.to_string(),
            params,
        ))
    }

    fn publish_stale(&mut self) -> Result<()> {
        for key in std::mem::take(&mut self.stale) {
            let Some(doc) = self.documents.get(&key) else {
                continue;
            };
            let checked = catch_unwind(AssertUnwindSafe(|| {
                diagnostics::check(&doc.uri, &doc.text, doc.path.as_deref())
            }));
            match checked {
                Ok(list) => self.publish(doc.uri.clone(), list)?,
                Err(_) => eprintln!("ipvsc lsp: checking {} failed", doc.uri.as_str()),
            }
        }
        Ok(())
    }

    fn document(&self, uri: &Uri) -> Option<&Document> {
        self.documents.get(uri.as_str())
    }

    fn request(&self, req: Request) -> Response {
        let answer = match req.method.as_str() {
            request::Completion::METHOD => self.answer(req, |s, p: CompletionParams| {
                let at = &p.text_document_position;
                let doc = s.document(&at.text_document.uri)?;
                let offset = LineIndex::new(&doc.text).offset(at.position);
                let items = completion::complete(&doc.text, offset, doc.path.as_deref());
                Some(CompletionResponse::Array(items))
            }),
            request::HoverRequest::METHOD => self.answer(req, |s, p: HoverParams| {
                let at = &p.text_document_position_params;
                let doc = s.document(&at.text_document.uri)?;
                let index = LineIndex::new(&doc.text);
                let offset = index.offset(at.position);
                let (start, end, markdown) =
                    navigate::hover(&doc.text, offset, doc.path.as_deref())?;
                Some(Hover {
                    contents: HoverContents::Markup(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value: markdown,
                    }),
                    range: Some(index.range(start, end)),
                })
            }),
            request::GotoDefinition::METHOD => self.answer(req, |s, p: GotoDefinitionParams| {
                let at = &p.text_document_position_params;
                let doc = s.document(&at.text_document.uri)?;
                let offset = LineIndex::new(&doc.text).offset(at.position);
                let location =
                    navigate::definition(&doc.text, offset, doc.path.as_deref(), &doc.uri)?;
                Some(GotoDefinitionResponse::Scalar(location))
            }),
            request::Formatting::METHOD => self.answer(req, |s, p: DocumentFormattingParams| {
                let doc = s.document(&p.text_document.uri)?;
                format(&doc.text)
            }),
            _ => Err(Response::new_err(
                req.id,
                ErrorCode::MethodNotFound as i32,
                format!("ipvsc lsp does not answer {}", req.method),
            )),
        };
        answer.unwrap_or_else(|error| error)
    }

    /// Decodes a request's parameters and answers it; `None` answers `null`.
    fn answer<P, R>(
        &self,
        req: Request,
        f: impl FnOnce(&Self, P) -> Option<R>,
    ) -> std::result::Result<Response, Response>
    where
        P: serde::de::DeserializeOwned,
        R: serde::Serialize,
    {
        match serde_json::from_value::<P>(req.params) {
            Ok(params) => Ok(Response::new_ok(req.id, f(self, params))),
            Err(e) => Err(Response::new_err(
                req.id,
                ErrorCode::InvalidParams as i32,
                e.to_string(),
            )),
        }
    }
}

/// The edits that give a document its canonical layout: none when it already has it, `None`
/// when it cannot be formatted (a syntax error, or an ipvsadm script).
fn format(text: &str) -> Option<Vec<TextEdit>> {
    if crate::legacy::looks_legacy(text) {
        return None;
    }
    let (tree, errors) = crate::syntax::parse(text, crate::source::FileId(0));
    if !errors.is_empty() {
        return None;
    }
    let formatted = crate::syntax::format::format(text, &tree);
    if formatted == text {
        return Some(Vec::new());
    }
    let whole = Range::new(Position::new(0, 0), LineIndex::new(text).end());
    Some(vec![TextEdit::new(whole, formatted)])
}
