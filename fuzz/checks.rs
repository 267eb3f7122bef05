//! What each fuzz target checks, on one input. The targets in `fuzz_targets/` call these under
//! libFuzzer; `tests/fuzz_findings.rs` calls them on every reproducer in `tests/fuzz/`, so that
//! a finding stays fixed without the fuzzer.

// Each target uses one of these.
#![allow(dead_code)]

use std::time::Duration;

use ipvsc::compiler::{self, Compiled, InputFormat};
use ipvsc::diagnostic::{self, Style};
use ipvsc::kernel::packet;
use ipvsc::kernel::packet::{lean_dest, lean_service};
use ipvsc::legacy::{self, SaveExtras};
use ipvsc::model::{Family, Table};
use ipvsc::source::{FileId, SourceFile, Sources};
use ipvsc::syntax;
use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{notification, request, Position, TextDocumentIdentifier, Uri};
use serde_json::json;

/// An include of a device or a kernel file could block or never end; the fuzzer has no business
/// there, and the tests do not need it.
fn reads_devices(text: &str) -> bool {
    ["/dev", "/proc", "/sys"].iter().any(|d| text.contains(d))
}

fn compile(name: &str, text: &str, format: InputFormat) -> (Sources, Compiled) {
    let mut sources = Sources::new();
    let id = sources.add(SourceFile::new(name, None, text.to_string()));
    let compiled = compiler::compile(&mut sources, id, &format.into());
    for d in &compiled.diagnostics {
        let _ = diagnostic::render(d, &sources, Style::PLAIN);
        let _ = diagnostic::render_short(d, &sources);
    }
    let _ = diagnostic::render_json(&compiled.diagnostics, &sources);
    (sources, compiled)
}

/// `text`, printed from `table` by `how`, compiles cleanly to `table` again.
fn same_table(how: &str, text: &str, format: InputFormat, table: &Table, input: &str) {
    let (sources, again) = compile("again", text, format);
    let errors: String = again
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| diagnostic::render(d, &sources, Style::PLAIN))
        .collect();
    assert!(
        errors.is_empty(),
        "the {how} output does not compile\n--- input\n{input}\n--- {how}\n{text}\n--- errors\n{errors}"
    );
    assert!(
        again.table == *table,
        "the {how} output compiles to another table\n--- input\n{input}\n--- {how}\n{text}\n--- table\n{table:#?}\n--- table of the {how} output\n{:#?}",
        again.table
    );
}

/// The `.ipvs` front end: no panic; a clean compile formats (`ipvsc fmt`) and saves (`ipvsc save
/// --format ipvs`) to text that compiles to the same table.
pub fn ipvs(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if reads_devices(&text) {
        return;
    }
    let (_, compiled) = compile("fuzz.ipvs", &text, InputFormat::Ipvs);
    if compiled.has_errors() {
        return;
    }
    let (tree, errors) = syntax::parse(&text, FileId(0));
    assert!(
        errors.is_empty(),
        "a clean compile with syntax errors: {errors:?}"
    );
    let formatted = syntax::format::format(&text, &tree);
    same_table("fmt", &formatted, InputFormat::Ipvs, &compiled.table, &text);
    let saved = compiled.table.to_ipvs();
    same_table(
        "save --format ipvs",
        &saved,
        InputFormat::Ipvs,
        &compiled.table,
        &text,
    );
}

/// The ipvsadm front end: no panic; a clean compile saves (`ipvsc save --format ipvsadm`) to a
/// dump that reads back as the same table.
pub fn legacy(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (_, compiled) = compile("fuzz.ipvsadm", &text, InputFormat::Ipvsadm);
    if compiled.has_errors() {
        return;
    }
    let saved = legacy::ipvsadm_save(&compiled.table, SaveExtras::ALL);
    let format = InputFormat::Ipvsadm;
    same_table(
        "save --format ipvsadm",
        &saved,
        format,
        &compiled.table,
        &text,
    );
}

/// The hand-written reader of service blocks against pest, chunk by chunk as pest reads the
/// text: whatever it accepts, pest accepts with the same tree and the same end, and where pest
/// finds an error the fast reader accepts nothing.
pub fn fast_reader(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut offset = 0;
    while offset <= text.len() {
        let (pest, quick) = syntax::compare_chunk(&text, offset);
        if let Some(q) = &quick {
            assert_eq!(
                Some(q),
                pest.as_ref(),
                "at byte {offset}: the fast reader differs from pest on\n{:?}",
                &text[offset..q.1]
            );
        }
        match pest {
            Some((_, end)) => {
                assert!(end > offset, "pest read nothing at byte {offset}");
                offset = end;
            }
            None => break,
        }
    }
}

/// Reads an input as an initial document, then edits separated by NUL bytes: each edit is a
/// position byte pair, a length byte to delete, then the text to insert.
struct Edits<'a> {
    rest: &'a [u8],
}

struct Edit {
    at: usize,
    delete: usize,
    insert: String,
    line: u32,
    character: u32,
}

impl Iterator for Edits<'_> {
    type Item = Edit;

    fn next(&mut self) -> Option<Edit> {
        if self.rest.len() < 4 {
            return None;
        }
        let (head, tail) = self.rest.split_at(4);
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        let insert = String::from_utf8_lossy(&tail[..end]).into_owned();
        self.rest = tail.get(end + 1..).unwrap_or(&[]);
        Some(Edit {
            at: usize::from(u16::from_le_bytes([head[0], head[1]])),
            delete: usize::from(head[2]),
            insert,
            line: u32::from(head[3] >> 4),
            character: u32::from(head[3] & 15) * 7,
        })
    }
}

/// A client of `ipvsc lsp` in this process, over lsp-server's in-memory connection.
struct Client {
    connection: Connection,
    next: i32,
}

/// Long enough for a slow compile, short enough to tell a check that died (the server catches
/// its panic and publishes nothing) from one that is slow.
const WAIT: Duration = Duration::from_secs(20);

impl Client {
    fn notify(&self, method: &str, params: serde_json::Value) {
        let n = Notification::new(method.to_string(), params);
        self.connection
            .sender
            .send(Message::Notification(n))
            .unwrap();
    }

    fn receive(&self, what: &str) -> Message {
        match self.connection.receiver.recv_timeout(WAIT) {
            Ok(message) => message,
            Err(e) => panic!("no {what} from the server: {e}"),
        }
    }

    /// Sends a request and gives its answer; an error answer fails the check.
    fn request(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.next += 1;
        let id = RequestId::from(self.next);
        let req = Request::new(id.clone(), method.to_string(), params);
        self.connection.sender.send(Message::Request(req)).unwrap();
        loop {
            match self.receive(method) {
                Message::Response(Response {
                    id: answered,
                    response_result,
                }) if answered == id => {
                    return response_result
                        .unwrap_or_else(|e| panic!("{method}: {} {}", e.code, e.message));
                }
                _ => continue,
            }
        }
    }

    /// Waits for the diagnostics of the last change: the server publishes none when checking
    /// panicked.
    fn diagnostics(&self) {
        loop {
            if let Message::Notification(n) = self.receive("publishDiagnostics") {
                if n.method == notification::PublishDiagnostics::METHOD {
                    return;
                }
            }
        }
    }

    /// Asks what an editor asks at a position; none of it may fail inside the server.
    fn ask(&mut self, uri: &Uri, position: Position) {
        let at =
            json!({"textDocument": TextDocumentIdentifier::new(uri.clone()), "position": position});
        for method in [
            request::Completion::METHOD,
            request::HoverRequest::METHOD,
            request::GotoDefinition::METHOD,
        ] {
            self.request(method, at.clone());
        }
    }
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The language server on a document and a sequence of edits: after each, diagnostics, then
/// completion, hover and definition at the edit and at an arbitrary position, and formatting.
pub fn lsp(data: &[u8]) {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let mut text = String::from_utf8_lossy(&data[..split]).into_owned();
    if reads_devices(&String::from_utf8_lossy(data)) {
        return;
    }
    let edits = Edits {
        rest: data.get(split + 1..).unwrap_or(&[]),
    };
    let (server, connection) = Connection::memory();
    let thread = std::thread::spawn(move || ipvsc::lsp::serve(&server).map_err(|e| e.to_string()));
    let mut client = Client {
        connection,
        next: 0,
    };
    client.request(
        request::Initialize::METHOD,
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    client.notify(notification::Initialized::METHOD, json!({}));
    let uri: Uri = "file:///nonexistent-ipvsc-fuzz/lb.ipvs".parse().unwrap();
    client.notify(
        notification::DidOpenTextDocument::METHOD,
        json!({"textDocument": {"uri": uri, "languageId": "ipvs", "version": 0, "text": text}}),
    );
    client.diagnostics();
    client.ask(&uri, Position::new(0, 0));
    for (version, edit) in edits.take(16).enumerate() {
        let start = floor_boundary(&text, edit.at);
        let end = floor_boundary(&text, start + edit.delete);
        text.replace_range(start..end, &edit.insert);
        client.notify(
            notification::DidChangeTextDocument::METHOD,
            json!({
                "textDocument": {"uri": uri, "version": version + 1},
                "contentChanges": [{"text": text}],
            }),
        );
        client.diagnostics();
        let here = text[..start + edit.insert.len()].to_string();
        let line = here.matches('\n').count() as u32;
        let column = here
            .rsplit('\n')
            .next()
            .unwrap_or("")
            .encode_utf16()
            .count() as u32;
        client.ask(&uri, Position::new(line, column));
        client.ask(&uri, Position::new(edit.line, edit.character));
    }
    client.request(
        request::Formatting::METHOD,
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    client.request(request::Shutdown::METHOD, json!(null));
    client.notify(notification::Exit::METHOD, json!(null));
    drop(client);
    thread.join().unwrap().unwrap();
}

/// The netlink reply decoders on a generic netlink payload (after the netlink header), the first
/// byte choosing the address family of a server's service: no panic, an accepted message emits
/// and parses again to itself, and where the lean decoders accept a message the full ones accept
/// it too, with the same result.
pub fn netlink(data: &[u8]) {
    let Some((&first, payload)) = data.split_first() else {
        return;
    };
    let family = if first & 1 == 0 {
        Family::Ipv4
    } else {
        Family::Ipv6
    };
    let full = packet::parse_genl(payload);
    if let Ok(msg) = &full {
        let service = packet::parse_service_reply(msg);
        let dest = packet::parse_dest_reply(msg, family);
        let _ = packet::parse_daemon_reply(msg);
        let _ = packet::parse_config_reply(msg);
        if let Ok(info) = packet::parse_info_reply(msg) {
            let _ = info.version_string();
        }
        if let Some(lean) = lean_service(payload) {
            assert_eq!(
                Some(&lean),
                service.as_ref().ok().map(|(s, _)| s),
                "service"
            );
        }
        if let Some(lean) = lean_dest(payload, family) {
            assert_eq!(Some(&lean), dest.as_ref().ok().map(|(s, _)| s), "server");
        }
        // Emitting is stable from the first emission on. Not from the input itself:
        // netlink-packet-core 0.9 drops NLA_F_NET_BYTEORDER from an unknown attribute that also
        // has NLA_F_NESTED (`set_nested_flag` rereads the masked type), which no kernel sends.
        let bytes = packet::serialize(msg.clone(), 0x20, 0, 1);
        let again = packet::parse_genl(&bytes[16..]).expect("what was emitted parses again");
        let twice = packet::serialize(again.clone(), 0x20, 0, 1);
        assert_eq!(bytes, twice, "emitted again from {again:?}");
    } else {
        assert_eq!(
            lean_service(payload),
            None,
            "the lean decoder accepts {full:?}"
        );
        assert_eq!(
            lean_dest(payload, family),
            None,
            "the lean decoder accepts {full:?}"
        );
    }
}
