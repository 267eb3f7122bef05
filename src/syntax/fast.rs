//! A hand-written reader for the common shape of a `service` block, the bulk of a large file.
//!
//! The pest grammar (`grammar/ipvs.pest`) stays the definition of the language and parses
//! everything else: other items, anything unusual, and every error. This reader follows the
//! grammar's rules for a service item one for one (including where pest's implicit skipping
//! leaves a statement's span), and gives up, without a word, at the first thing it does not
//! expect; pest then parses that item from the start. So it never accepts what pest rejects, and
//! never builds a different tree: `tests/fast_parse.rs` compares the two on every example and on
//! generated blocks, valid and broken.
//!
//! Why: pest's bookkeeping costs about 0.1 µs per rule call on the host (some 4 µs under the test
//! VM's emulation), a dozen calls per server line; a 2,000 × 10 table took 1.2 s to parse inside
//! the test VM, more than reading the kernel's table.

use super::ast::*;
use super::words::is_server_option;
use crate::source::{FileId, Span};

/// Reads the chunk at `offset` (separators, then one item and its terminator) when it is a
/// service this reader knows how to read. Returns the item and the offset after the chunk,
/// exactly as the grammar's `chunk` rule would; `None` leaves the chunk to pest.
pub(super) fn chunk(text: &str, offset: usize, file: FileId) -> Option<(Item, usize)> {
    let mut r = Reader {
        text,
        b: text.as_bytes(),
        pos: offset,
        file,
    };
    r.separators();
    let item = r.service()?;
    r.skip();
    match r.peek() {
        Some(b'\n' | b';') => r.pos += 1,
        None => {}
        Some(_) => return None,
    }
    Some((item, r.pos))
}

struct Reader<'t> {
    text: &'t str,
    b: &'t [u8],
    pos: usize,
    file: FileId,
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

fn is_name(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn starts_word(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

impl<'t> Reader<'t> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn span(&self, start: usize) -> Span {
        Span::new(self.file, start..self.pos)
    }

    fn text_from(&self, start: usize) -> Text {
        Text {
            text: self.text[start..self.pos].to_string(),
            span: self.span(start),
        }
    }

    fn literal(&self, start: usize) -> Value {
        Value {
            text: self.text[start..self.pos].to_string(),
            variable: false,
            span: self.span(start),
        }
    }

    /// `WHITESPACE`: a blank, or a backslash that continues the line.
    fn blank(&mut self) -> bool {
        match self.peek() {
            Some(b' ' | b'\t' | b'\r') => {
                self.pos += 1;
                true
            }
            Some(b'\\') => {
                let mut p = self.pos + 1;
                if self.b.get(p) == Some(&b'\r') {
                    p += 1;
                }
                if self.b.get(p) == Some(&b'\n') {
                    self.pos = p + 1;
                    true
                } else {
                    false
                }
            }
            _ => false,
        }
    }

    /// `ws`: one or more blanks, as server lines spell them out.
    fn ws(&mut self) -> bool {
        let start = self.pos;
        while self.blank() {}
        self.pos > start
    }

    fn comment(&mut self) -> bool {
        if self.peek() != Some(b'#') {
            return false;
        }
        self.pos = match self.b[self.pos..].iter().position(|&c| c == b'\n') {
            Some(n) => self.pos + n,
            None => self.b.len(),
        };
        true
    }

    /// pest's implicit skipping between the parts of a non-atomic rule.
    fn skip(&mut self) {
        while self.blank() || self.comment() {}
    }

    /// Blanks, comments and separators, as `sep*` between skips; says whether a separator was
    /// among them.
    fn separators(&mut self) -> bool {
        let mut seen = false;
        loop {
            self.skip();
            match self.peek() {
                Some(b'\n' | b';') => {
                    self.pos += 1;
                    seen = true;
                }
                _ => return seen,
            }
        }
    }

    /// The word at the cursor (`word`), without moving.
    fn word_here(&self) -> Option<&'t str> {
        let first = *self.b.get(self.pos)?;
        if !starts_word(first) {
            return None;
        }
        let len = self.b[self.pos..]
            .iter()
            .position(|&c| !is_ident(c))
            .unwrap_or(self.b.len() - self.pos);
        Some(&self.text[self.pos..self.pos + len])
    }

    fn word(&mut self) -> Option<Text> {
        let start = self.pos;
        let word = self.word_here()?;
        self.pos += word.len();
        Some(self.text_from(start))
    }

    /// Consumes `keyword` when it stands at the cursor as a whole word (`kw_*`).
    fn keyword(&mut self, keyword: &str) -> bool {
        if self.word_here() == Some(keyword) {
            self.pos += keyword.len();
            true
        } else {
            false
        }
    }

    fn digits(&mut self) -> usize {
        let n = self.b[self.pos..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(self.b.len() - self.pos);
        self.pos += n;
        n
    }

    /// `number`
    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        (self.digits() > 0).then(|| self.literal(start))
    }

    /// `variable`: `$name`; the value's text is the name.
    fn variable(&mut self) -> Option<Value> {
        let start = self.pos;
        if self.peek() != Some(b'$') || !self.b.get(start + 1).is_some_and(|&c| starts_word(c)) {
            return None;
        }
        self.pos += 1;
        while self.peek().is_some_and(is_name) {
            self.pos += 1;
        }
        Some(Value {
            text: self.text[start + 1..self.pos].to_string(),
            variable: true,
            span: self.span(start),
        })
    }

    /// `number_value`
    fn number_value(&mut self) -> Option<Value> {
        match self.peek() {
            Some(b'$') => self.variable(),
            _ => self.number(),
        }
    }

    /// `ipv4`: four groups of digits, not followed by a digit or a dot.
    fn ipv4(&mut self) -> Option<Value> {
        let start = self.pos;
        for group in 0..4 {
            if group > 0 {
                if self.peek() != Some(b'.') {
                    self.pos = start;
                    return None;
                }
                self.pos += 1;
            }
            if self.digits() == 0 {
                self.pos = start;
                return None;
            }
        }
        if self.peek() == Some(b'.') {
            self.pos = start;
            return None;
        }
        Some(self.literal(start))
    }

    /// `ipv6`: hex digits, a colon, then hex digits, colons and dots.
    fn ipv6(&mut self) -> Option<Value> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
            self.pos += 1;
        }
        if self.peek() != Some(b':') {
            self.pos = start;
            return None;
        }
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        {
            self.pos += 1;
        }
        Some(self.literal(start))
    }

    /// `host`, as the value inside it.
    fn host(&mut self) -> Option<Value> {
        if let Some(v) = self.ipv4() {
            return Some(v);
        }
        match self.peek()? {
            b'[' => {
                let start = self.pos;
                self.pos += 1;
                let inner = if self.peek() == Some(b'$') {
                    self.variable()
                } else {
                    self.ipv6()
                };
                match inner {
                    Some(v) if self.peek() == Some(b']') => {
                        self.pos += 1;
                        Some(v)
                    }
                    _ => {
                        self.pos = start;
                        None
                    }
                }
            }
            b'$' => self.variable(),
            _ => self.ipv6(),
        }
    }

    /// `endpoint` (no range) or `server_addr` (with one).
    fn endpoint(&mut self, range: bool) -> Option<Endpoint> {
        let start = self.pos;
        let host = self.host()?;
        let mut range_end = None;
        if range && self.peek() == Some(b'-') {
            let dash = self.pos;
            self.pos += 1;
            match self.host() {
                Some(v) => range_end = Some(v),
                None => self.pos = dash,
            }
        }
        let mut port = None;
        if self.peek() == Some(b':') {
            let colon = self.pos;
            self.pos += 1;
            match self.number_value() {
                Some(v) => port = Some(v),
                None => self.pos = colon,
            }
        }
        Some(Endpoint {
            host,
            range_end,
            port,
            span: self.span(start),
        })
    }

    /// `service`, when this reader can read all of it.
    fn service(&mut self) -> Option<Item> {
        let start = self.pos;
        if !self.keyword("service") {
            return None;
        }
        self.skip();
        let key = if self.keyword("fwmark") {
            self.skip();
            let mark = self.number_value()?;
            self.skip();
            let family = self.word();
            ServiceKeyDecl::Fwmark { mark, family }
        } else {
            let protocol = self.word()?;
            self.skip();
            let endpoint = self.endpoint(false)?;
            ServiceKeyDecl::Inet { protocol, endpoint }
        };
        let head = Span::new(self.file, start..self.pos);
        self.skip();
        if self.peek() != Some(b'{') {
            return None;
        }
        self.pos += 1;
        // Room for the usual block (a few settings and ten servers) without growing twice.
        let mut stmts = Vec::with_capacity(16);
        let mut separated = true;
        loop {
            separated |= self.separators();
            if self.peek() == Some(b'}') {
                break;
            }
            if !separated {
                return None;
            }
            stmts.push(self.stmt()?);
            separated = false;
        }
        self.pos += 1;
        let span = self.span(start);
        Some(Item {
            kind: ItemKind::Service(Box::new(ServiceDecl {
                key,
                head,
                stmts,
                one_line: !self.text[start..self.pos].contains('\n'),
                close: Span::new(self.file, self.pos - 1..self.pos),
            })),
            span,
        })
    }

    /// One `service_stmt`; the unknown ones are pest's.
    fn stmt(&mut self) -> Option<Stmt> {
        let start = self.pos;
        let kind = match self.word_here()? {
            "server" => {
                self.pos += "server".len();
                if !self.ws() {
                    return None;
                }
                let addr = self.endpoint(true)?;
                let mut options = Vec::new();
                loop {
                    let before = self.pos;
                    if !self.ws() {
                        break;
                    }
                    match self.word_here() {
                        Some(w) if is_server_option(w) => options.push(self.option()?),
                        // An unknown option, or `port`: pest's.
                        Some(_) => return None,
                        None => {
                            self.pos = before;
                            break;
                        }
                    }
                }
                StmtKind::Server(ServerDecl { addr, options })
            }
            "scheduler" => {
                self.pos += "scheduler".len();
                self.skip();
                let name = self.word()?;
                self.skip();
                let mut flags = Vec::new();
                if let Some(flag) = self.word() {
                    flags.push(flag);
                    loop {
                        let before = self.pos;
                        self.skip();
                        match self.word() {
                            Some(flag) => flags.push(flag),
                            None => {
                                self.pos = before;
                                break;
                            }
                        }
                    }
                }
                StmtKind::Scheduler { name, flags }
            }
            "persistent" => {
                self.pos += "persistent".len();
                self.skip();
                let timeout = match self.peek() {
                    Some(b'$') => self.variable(),
                    _ => {
                        let start = self.pos;
                        (self.digits() > 0).then(|| {
                            while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                                self.pos += 1;
                            }
                            self.literal(start)
                        })
                    }
                };
                self.skip();
                let netmask = if self.word_here() == Some("netmask") {
                    Some(self.netmask_stmt()?)
                } else {
                    None
                };
                StmtKind::Persistent { timeout, netmask }
            }
            "netmask" => StmtKind::Netmask(self.netmask_stmt()?),
            "pe" => {
                self.pos += "pe".len();
                self.skip();
                StmtKind::Pe(self.word()?)
            }
            "one-packet" => {
                self.pos += "one-packet".len();
                StmtKind::OnePacket
            }
            w if is_server_option(w) => self.option()?.kind,
            _ => return None,
        };
        // What may follow (a separator, or the closing brace) is the service's to check.
        Some(Stmt {
            kind,
            span: self.span(start),
        })
    }

    /// `netmask_stmt`, as its value.
    fn netmask_stmt(&mut self) -> Option<Value> {
        self.pos += "netmask".len();
        self.skip();
        let start = self.pos;
        if let Some(v) = self.ipv4() {
            return Some(v);
        }
        if self.peek() == Some(b'/') {
            self.pos += 1;
        }
        let value = self.number_value()?;
        Some(Value {
            text: if value.variable {
                value.text
            } else {
                self.text[start..self.pos].to_string()
            },
            variable: value.variable,
            span: self.span(start),
        })
    }

    /// `forward_stmt`, `weight_stmt`, `upper_stmt` or `lower_stmt`, on a server's line or as a
    /// service's default.
    fn option(&mut self) -> Option<Stmt> {
        let start = self.pos;
        let keyword = self.word_here()?;
        self.pos += keyword.len();
        if !self.ws() {
            return None;
        }
        let kind = match keyword {
            "forward" => StmtKind::Forward(self.forward()?),
            "weight" => StmtKind::Weight(self.number_value()?),
            "upper" => StmtKind::Upper(self.number_value()?),
            "lower" => StmtKind::Lower(self.number_value()?),
            _ => return None,
        };
        Some(Stmt {
            kind,
            span: self.span(start),
        })
    }

    /// What follows `forward`: `tunnel` and its words, or a method's name.
    fn forward(&mut self) -> Option<ForwardDecl> {
        let method = self.word()?;
        let mut tunnel = Vec::new();
        if method.text == "tunnel" {
            loop {
                let before = self.pos;
                if !self.ws() {
                    break;
                }
                match self.word_here() {
                    Some("port") => {
                        let keyword_start = self.pos;
                        self.pos += "port".len();
                        let keyword = self.span(keyword_start);
                        match self.ws().then(|| self.number_value()).flatten() {
                            Some(port) => tunnel.push(TunnelWord::Port { keyword, port }),
                            None => return None,
                        }
                    }
                    Some(w) if !is_server_option(w) => {
                        tunnel.push(TunnelWord::Word(self.word()?));
                    }
                    _ => {
                        self.pos = before;
                        break;
                    }
                }
            }
        }
        Some(ForwardDecl { method, tunnel })
    }
}
