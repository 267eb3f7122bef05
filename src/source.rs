//! Source files and byte spans into them, and where each object of a table came from.

use rustc_hash::FxHashMap as HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::model::{DaemonState, ServerKey, ServiceKey, SmallMap, Sysctl};

/// Index of a file in [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(file: FileId, range: Range<usize>) -> Span {
        Span {
            file,
            start: range.start,
            end: range.end,
        }
    }

    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// A value and the text it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

/// One source file: its name as the user gave it, and its text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub path: Option<PathBuf>,
    pub text: Arc<str>,
    /// Where the first byte that is not UTF-8 was, for a file read from bytes that were not:
    /// its offset in `text` (which holds U+FFFD there and for every later bad sequence) and
    /// its value.
    pub invalid_utf8: Option<(usize, u8)>,
    /// Where each line starts, worked out the first time a position is asked for: a file that
    /// compiles cleanly and changes nothing is never asked (130,000 lines at 10,000 services).
    line_starts: OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, path: Option<PathBuf>, text: String) -> SourceFile {
        SourceFile {
            name: name.into(),
            path,
            text: text.into(),
            invalid_utf8: None,
            line_starts: OnceLock::new(),
        }
    }

    /// A file from raw bytes: text that is not UTF-8 is kept (each bad sequence replaced by
    /// U+FFFD) so that the first bad byte can be reported at its line and column.
    pub fn from_bytes(
        name: impl Into<String>,
        path: Option<PathBuf>,
        bytes: Vec<u8>,
    ) -> SourceFile {
        match String::from_utf8(bytes) {
            Ok(text) => SourceFile::new(name, path, text),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let byte = e.as_bytes()[at];
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                SourceFile {
                    invalid_utf8: Some((at, byte)),
                    ..SourceFile::new(name, path, text)
                }
            }
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line_starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let line = line_starts.partition_point(|&s| s <= offset) - 1;
        let start = line_starts[line];
        let col = self.text[start..offset.min(self.text.len())]
            .chars()
            .count();
        (line + 1, col + 1)
    }
}

/// A file's text, or standard input's for `-`.
pub fn read_input(path: &Path) -> std::io::Result<String> {
    if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
}

/// The largest input read by default (a file, an include, standard input): far above any real
/// table (1,000,000 servers is about 40 MiB of `.ipvs`), far below what would exhaust memory.
pub const DEFAULT_MAX_INPUT: u64 = 256 << 20;

/// A file's bytes, or standard input's for `-`, at most `limit` of them. Only regular files
/// are read: a device, a FIFO or a directory (`include "/dev/zero"`) is an error, not an
/// endless read.
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let too_large = || {
        Error::new(
            ErrorKind::InvalidData,
            format!(
                "it is larger than {} (the input limit; --max-input-size raises it)",
                size_text(limit)
            ),
        )
    };
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin().take(limit + 1).read_to_end(&mut bytes)?;
    } else {
        let file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "it is not a regular file (a device, a FIFO or a directory): ipvsc reads only \
                 regular files",
            ));
        }
        if meta.len() > limit {
            return Err(too_large());
        }
        file.take(limit + 1).read_to_end(&mut bytes)?;
    }
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// `256 MiB`, `1.5 GiB`, `900 bytes`.
pub fn size_text(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (name, unit) in UNITS {
        if bytes >= unit {
            let v = bytes as f64 / unit as f64;
            return if v.fract() == 0.0 {
                format!("{v} {name}")
            } else {
                format!("{v:.1} {name}")
            };
        }
    }
    format!("{bytes} bytes")
}

/// `100M`, `2G`, `64K`, or a number of bytes: what `--max-input-size` takes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size: write bytes, or like 100M or 2G"))?;
    let scale: u64 = match unit {
        "" => 1,
        "K" | "k" | "KiB" => 1 << 10,
        "M" | "m" | "MiB" => 1 << 20,
        "G" | "g" | "GiB" => 1 << 30,
        _ => return Err(format!("`{unit}` is not a size unit: use K, M or G")),
    };
    n.checked_mul(scale)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}` is out of range"))
}

/// How a path given on the command line is named in messages: `<stdin>` for `-`.
pub fn display_name(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Every file read in one run (the files named on the command line and what they include).
#[derive(Clone, Debug)]
pub struct Sources {
    files: Vec<SourceFile>,
    /// The largest file read (see [`read_bounded`]).
    limit: u64,
}

impl Default for Sources {
    fn default() -> Sources {
        Sources {
            files: Vec::new(),
            limit: DEFAULT_MAX_INPUT,
        }
    }
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }

    /// Files larger than `limit` bytes are not read.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(self.files.len() as u32 - 1)
    }

    /// Reads a file from disk, or standard input for `-`. Bytes that are not UTF-8 are not an
    /// I/O error: the file records where the first one is (see [`SourceFile::invalid_utf8`]).
    pub fn read(&mut self, path: &Path) -> std::io::Result<FileId> {
        let bytes = read_bounded(path, self.limit)?;
        let name = display_name(path);
        let real = (path != Path::new("-")).then(|| path.to_path_buf());
        Ok(self.add(SourceFile::from_bytes(name, real, bytes)))
    }

    /// The error for a file that is not UTF-8, at its first bad byte.
    pub fn encoding_error(&self, id: FileId) -> Option<crate::diagnostic::Diagnostic> {
        let file = self.get(id);
        let (at, byte) = file.invalid_utf8?;
        let (line, col) = file.line_col(at);
        let bad = char::REPLACEMENT_CHARACTER.len_utf8();
        Some(
            crate::diagnostic::Diagnostic::error(
                crate::diagnostic::Code::NotUtf8,
                Span::new(id, at..at + bad),
                format!(
                    "{} is not UTF-8 text: the byte 0x{byte:02X} at line {line}, column {col}",
                    file.name
                ),
            )
            .label(format!("0x{byte:02X}, not UTF-8"))
            .help(
                "save the file as UTF-8 (ASCII is UTF-8); `iconv -f latin1 -t utf-8` converts a \
                 Latin-1 file",
            ),
        )
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn text(&self, span: Span) -> &str {
        &self.get(span.file).text[span.start..span.end]
    }

    pub fn find_path(&self, path: &Path) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.path.as_deref() == Some(path))
            .map(|i| FileId(i as u32))
    }
}

/// Where each object of a compiled table was declared, so that a later stage (a refused kernel
/// operation, a plan line) can point at it.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    pub services: HashMap<ServiceKey, Span>,
    /// Per service, because a table holds far more servers than services: an ordered map per
    /// service is a third of the memory of one hash map keyed by both (and a small one, a
    /// sorted vector, costs no more than its entries).
    servers: HashMap<ServiceKey, SmallMap<ServerKey, Span>>,
    pub timeouts: Option<Span>,
    pub daemons: HashMap<DaemonState, Span>,
    pub sysctls: HashMap<Sysctl, Span>,
    /// The file-wide `drain`.
    pub drain: Option<Span>,
    /// Each service's own `drain`.
    pub drains: HashMap<ServiceKey, Span>,
}

impl SourceMap {
    /// Where a server was declared.
    pub fn server(&self, service: &ServiceKey, server: &ServerKey) -> Option<Span> {
        self.servers.get(service)?.get(server).copied()
    }

    /// The spans of a service's servers, taken out (to add many without a look-up each);
    /// [`SourceMap::put_servers`] puts them back.
    pub fn take_servers(&mut self, service: &ServiceKey) -> SmallMap<ServerKey, Span> {
        self.servers.remove(service).unwrap_or_default()
    }

    pub fn put_servers(&mut self, service: ServiceKey, spans: SmallMap<ServerKey, Span>) {
        if !spans.is_empty() {
            self.servers.insert(service, spans);
        }
    }

    pub fn insert_server(&mut self, service: ServiceKey, server: ServerKey, span: Span) {
        self.servers
            .entry(service)
            .or_default()
            .insert(server, span);
    }

    /// Builds each service's map of server spans again from its sorted entries: vectors
    /// without spare room, and full nodes where a map is a B-tree (insertions in file order
    /// left them about half full).
    pub fn compact(&mut self) {
        for spans in self.servers.values_mut() {
            *spans = std::mem::take(spans).compacted();
        }
    }

    pub fn remove_server(&mut self, service: &ServiceKey, server: &ServerKey) {
        if let Some(servers) = self.servers.get_mut(service) {
            servers.remove(server);
        }
    }

    /// Forgets a service and its servers.
    pub fn remove_service(&mut self, service: &ServiceKey) {
        self.services.remove(service);
        self.servers.remove(service);
    }

    /// Forgets every service and server.
    pub fn clear_services(&mut self) {
        self.services.clear();
        self.servers.clear();
    }
}
