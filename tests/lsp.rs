//! `ipvsc lsp` as an editor runs it: JSON-RPC over its standard input and output.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use ipvsc::model::Scheduler;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);

/// A client speaking to one `ipvsc lsp` process.
struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    /// Notifications that arrived while waiting for a response.
    pending: VecDeque<Value>,
    next_id: i64,
}

impl Client {
    /// Starts the server and completes the `initialize` handshake; gives the server's answer.
    fn start() -> (Client, Value) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ipvsc"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("ipvsc lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            incoming,
            pending: VecDeque::new(),
            next_id: 1,
        };
        let init = client.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {}}),
        );
        client.notify("initialized", json!({}));
        (client, init)
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and gives its result (or its error, as `{"error": ...}`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive(method);
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                return match message.get("error") {
                    Some(error) => json!({ "error": error }),
                    None => message["result"].clone(),
                };
            }
            self.pending.push_back(message);
        }
    }

    /// The next notification `method` from the server.
    fn notification(&mut self, method: &str) -> Value {
        if let Some(i) = self.pending.iter().position(|m| m["method"] == method) {
            return self.pending.remove(i).expect("present")["params"].clone();
        }
        loop {
            let message = self.receive(method);
            if message["method"] == method {
                return message["params"].clone();
            }
            self.pending.push_back(message);
        }
    }

    fn receive(&mut self, waiting_for: &str) -> Value {
        self.incoming
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no answer to {waiting_for} from ipvsc lsp: {e}"))
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "ipvs", "version": 1, "text": text}}),
        );
    }

    /// Diagnostics published for `uri` (skipping those for other documents).
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let params = self.notification("textDocument/publishDiagnostics");
            if params["uri"] == uri {
                return params["diagnostics"].as_array().expect("a list").clone();
            }
        }
    }

    fn at(&mut self, method: &str, uri: &str, line: usize, character: usize) -> Value {
        self.request(
            method,
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
    }

    /// `shutdown`, then `exit`: the server answers null and ends with status 0.
    fn stop(mut self) {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "ipvsc lsp ended with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("ipvsc lsp did not exit after `exit`");
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// A folder of its own for one test's files, removed when the test ends.
struct Folder(PathBuf);

impl Folder {
    fn new(name: &str) -> Folder {
        let dir = std::env::temp_dir().join(format!("ipvsc-lsp-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Folder(dir)
    }
}

impl std::ops::Deref for Folder {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn uri(path: &Path) -> String {
    let text = path.to_str().expect("a UTF-8 path");
    assert!(text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-._".contains(&b)));
    format!("file://{text}")
}

fn range(value: &Value) -> (u64, u64, u64, u64) {
    let n = |v: &Value| v.as_u64().expect("a number");
    (
        n(&value["start"]["line"]),
        n(&value["start"]["character"]),
        n(&value["end"]["line"]),
        n(&value["end"]["character"]),
    )
}

fn labels(result: &Value) -> Vec<String> {
    let items = result
        .as_array()
        .or_else(|| result["items"].as_array())
        .expect("completion items");
    items
        .iter()
        .map(|i| i["label"].as_str().expect("a label").to_string())
        .collect()
}

#[test]
fn initialize_announces_the_features_and_shutdown_exits() {
    let (client, init) = Client::start();
    let caps = &init["capabilities"];
    assert_eq!(caps["textDocumentSync"]["change"], 1, "{init}");
    assert_eq!(caps["hoverProvider"], true);
    assert_eq!(caps["definitionProvider"], true);
    assert_eq!(caps["documentFormattingProvider"], true);
    assert_eq!(
        caps["completionProvider"]["triggerCharacters"],
        json!(["$"])
    );
    assert_eq!(init["serverInfo"]["name"], "ipvsc");
    client.stop();
}

#[test]
fn exit_without_shutdown_is_an_error() {
    let (mut client, _) = Client::start();
    client.notify("exit", Value::Null);
    let status = client.child.wait().expect("ipvsc lsp ends");
    assert_eq!(status.code(), Some(1));
}

#[test]
fn diagnostics_are_those_of_check() {
    let dir = Folder::new("diagnostics");
    let path = dir.join("lb.ipvs");
    let text = "service tcp 10.0.0.1:80 {\n    scheduler wlc\n    server 10.0.0.2 wieght 3\n}\n";
    std::fs::write(&path, text).expect("write");
    let (mut client, _) = Client::start();
    let doc = uri(&path);
    client.open(&doc, text);
    let diagnostics = client.diagnostics(&doc);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(d["code"], "unknown-keyword");
    assert_eq!(d["severity"], 1);
    assert_eq!(d["source"], "ipvsc");
    assert_eq!(range(&d["range"]), (2, 20, 2, 26));
    let message = d["message"].as_str().expect("a message");
    assert!(message.contains("did you mean `weight`?"), "{message}");

    // The same code, place and message as `ipvsc check --format short`.
    let check = Command::new(env!("CARGO_BIN_EXE_ipvsc"))
        .args(["check", "--format", "short"])
        .arg(&path)
        .output()
        .expect("check runs");
    let short = String::from_utf8(check.stdout).expect("UTF-8");
    let expected = format!(
        "{}:3:21: error[unknown-keyword]: {}",
        path.display(),
        message.lines().next().expect("a first line")
    );
    assert_eq!(short.trim_end(), expected);

    // A fix clears them.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc, "version": 2},
               "contentChanges": [{"text": text.replace("wieght", "weight")}]}),
    );
    assert_eq!(client.diagnostics(&doc), Vec::<Value>::new());
    client.stop();
}

#[test]
fn positions_count_utf16_units() {
    let dir = Folder::new("utf16");
    let path = dir.join("wide.ipvs");
    // é is one UTF-16 unit and two bytes, 𝄞 two units and four bytes.
    let line = "include \"é𝄞.ipvs\"; bogus";
    let text = format!("# ok\n{line}\n");
    let (mut client, _) = Client::start();
    let doc = uri(&path);
    client.open(&doc, &text);
    let diagnostics = client.diagnostics(&doc);
    let bogus = diagnostics
        .iter()
        .find(|d| d["code"] == "unknown-keyword")
        .unwrap_or_else(|| panic!("{diagnostics:#?}"));
    let start = line[..line.find("bogus").expect("there")]
        .encode_utf16()
        .count() as u64;
    assert_eq!((start, line.find("bogus").expect("there")), (20, 23));
    assert_eq!(range(&bogus["range"]), (1, start, 1, start + 5));
    let include = diagnostics
        .iter()
        .find(|d| d["code"] == "include")
        .unwrap_or_else(|| panic!("{diagnostics:#?}"));
    assert_eq!(range(&include["range"]), (1, 9, 1, 17));
    client.stop();
}

#[test]
fn problems_of_an_included_file_show_on_its_include() {
    let dir = Folder::new("included");
    std::fs::write(dir.join("common.ipvs"), "define w = 3\nbogus\n").expect("write");
    let path = dir.join("main.ipvs");
    let text = "define a = 1\ninclude \"common.ipvs\"\n";
    let (mut client, _) = Client::start();
    let doc = uri(&path);
    client.open(&doc, text);
    let diagnostics = client.diagnostics(&doc);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(range(&d["range"]), (1, 0, 1, 21));
    let related = &d["relatedInformation"][0]["location"];
    assert_eq!(related["uri"], uri(&dir.join("common.ipvs")));
    assert_eq!(range(&related["range"]), (1, 0, 1, 5));
    client.stop();
}

#[test]
fn completion_hover_definition_and_formatting() {
    let dir = Folder::new("features");
    std::fs::write(dir.join("common.ipvs"), "define pool = 10.0.0.2-10.0.0.5\n").expect("write");
    let path = dir.join("main.ipvs");
    let text = "define vip = 10.0.0.1\ninclude \"common.ipvs\"\n\
                service tcp $vip:80 {\n    scheduler wlc\n    \n    server  $pool   weight 2\n}\n";
    let (mut client, _) = Client::start();
    let doc = uri(&path);
    client.open(&doc, text);

    // Completion: statements inside a service, schedulers after `scheduler`, constants.
    let inside = labels(&client.at("textDocument/completion", &doc, 4, 4));
    assert!(inside.contains(&"scheduler".to_string()), "{inside:?}");
    assert!(inside.contains(&"server".to_string()));
    assert!(!inside.contains(&"service".to_string()));
    let top = labels(&client.at("textDocument/completion", &doc, 7, 0));
    assert!(top.contains(&"service".to_string()) && !top.contains(&"scheduler".to_string()));
    let schedulers = client.at("textDocument/completion", &doc, 3, 14);
    let wlc = schedulers
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["label"] == "wlc")
        .expect("wlc offered");
    assert_eq!(wlc["detail"], Scheduler::Wlc.describe());
    let constants = labels(&client.at("textDocument/completion", &doc, 5, 13));
    assert!(constants.contains(&"$pool".to_string()), "{constants:?}");

    // Hover: a scheduler, a keyword.
    let hover = client.at("textDocument/hover", &doc, 3, 15);
    let value = hover["contents"]["value"].as_str().expect("markdown");
    assert!(value.contains(Scheduler::Wlc.describe()), "{value}");
    assert_eq!(range(&hover["range"]), (3, 14, 3, 17));
    let hover = client.at("textDocument/hover", &doc, 3, 6);
    assert!(hover["contents"]["value"]
        .as_str()
        .expect("markdown")
        .contains("scheduler NAME"));

    // Definition: a constant of this file, one of an included file, the included file.
    let here = client.at("textDocument/definition", &doc, 2, 14);
    assert_eq!(here["uri"], doc);
    assert_eq!(range(&here["range"]), (0, 7, 0, 10));
    let there = client.at("textDocument/definition", &doc, 5, 14);
    assert_eq!(there["uri"], uri(&dir.join("common.ipvs")));
    assert_eq!(range(&there["range"]), (0, 7, 0, 11));
    let file = client.at("textDocument/definition", &doc, 1, 12);
    assert_eq!(file["uri"], uri(&dir.join("common.ipvs")));

    // Formatting: one edit to the text `ipvsc fmt` prints.
    let edits = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": doc}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    let edits = edits.as_array().expect("edits");
    assert_eq!(edits.len(), 1);
    assert_eq!(range(&edits[0]["range"]), (0, 0, 7, 0));
    let mut fmt = Command::new(env!("CARGO_BIN_EXE_ipvsc"))
        .args(["fmt", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("fmt runs");
    fmt.stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let formatted = fmt.wait_with_output().expect("fmt ends").stdout;
    assert_eq!(
        edits[0]["newText"].as_str().expect("text"),
        String::from_utf8(formatted).expect("UTF-8")
    );

    // A file with a syntax error is left alone.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc, "version": 2},
               "contentChanges": [{"text": "service tcp {\n"}]}),
    );
    let none = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": doc}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    assert_eq!(none, Value::Null);
    client.stop();
}
