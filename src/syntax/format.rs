//! `ipvsc fmt`: the canonical layout of a `.ipvs` file, keeping its comments.

use super::ast::*;
use super::comments;

/// The widest line a block is kept on one line for.
const ONE_LINE_WIDTH: usize = 100;
const INDENT: &str = "    ";

struct Formatter<'a> {
    text: &'a str,
    comments: Vec<std::ops::Range<usize>>,
    next_comment: usize,
    out: String,
}

/// Formats a file that parsed without errors.
pub fn format(text: &str, tree: &File) -> String {
    let mut f = Formatter {
        text,
        comments: comments(text),
        next_comment: 0,
        out: String::new(),
    };
    let mut prev_end = 0;
    for item in &tree.items {
        f.leading(item.span.start, prev_end, "");
        let line = f.item(item);
        f.out.push_str(&line);
        f.trailing(item.span.end);
        prev_end = item.span.end;
    }
    f.leading(text.len(), prev_end, "");
    while f.out.ends_with("\n\n") {
        f.out.pop();
    }
    if f.out == "\n" {
        f.out.clear();
    }
    f.out
}

impl Formatter<'_> {
    fn src(&self, span: crate::source::Span) -> &str {
        &self.text[span.start..span.end]
    }

    fn blank_between(&self, from: usize, to: usize) -> bool {
        from < to && self.text[from..to].matches('\n').count() >= 2
    }

    /// Comments before `pos` on lines of their own, and a blank line where the source had one.
    fn leading(&mut self, pos: usize, mut prev_end: usize, indent: &str) {
        while let Some(c) = self.comments.get(self.next_comment).cloned() {
            if c.start >= pos {
                break;
            }
            if !self.out.is_empty()
                && self.blank_between(prev_end, c.start)
                && !self.out.ends_with("\n\n")
                && !self.out.ends_with("{\n")
            {
                self.out.push('\n');
            }
            self.out.push_str(indent);
            self.out.push_str(self.text[c.clone()].trim_end());
            self.out.push('\n');
            prev_end = c.end;
            self.next_comment += 1;
        }
        if !self.out.is_empty()
            && pos < self.text.len()
            && self.blank_between(prev_end, pos)
            && !self.out.ends_with("\n\n")
            && !self.out.ends_with("{\n")
        {
            self.out.push('\n');
        }
    }

    /// A comment on the same line after `end`, then the newline.
    fn trailing(&mut self, end: usize) {
        // Comments inside what was just printed as written (an unknown statement) went with it.
        while self
            .comments
            .get(self.next_comment)
            .is_some_and(|c| c.start < end)
        {
            self.next_comment += 1;
        }
        if let Some(c) = self.comments.get(self.next_comment).cloned() {
            if !self.text[end..c.start].contains('\n') {
                self.out.push(' ');
                self.out.push_str(self.text[c.clone()].trim_end());
                self.next_comment += 1;
            }
        }
        self.out.push('\n');
    }

    fn has_comment_in(&self, start: usize, end: usize) -> bool {
        self.comments[self.next_comment..]
            .iter()
            .any(|c| c.start >= start && c.start < end)
    }

    fn item(&mut self, item: &Item) -> String {
        match &item.kind {
            ItemKind::Define { name, value } => {
                format!("define {} = {}", name.text, value.text)
            }
            ItemKind::Include { path } => format!("include \"{}\"", path.text),
            ItemKind::Drain(v) => format!("drain {}", self.src(v.span)),
            ItemKind::Timeouts(b) => self.block("timeouts".into(), b, item),
            ItemKind::Defense(b) => self.block("defense".into(), b, item),
            ItemKind::Sysctl(b) => self.block("sysctl".into(), b, item),
            ItemKind::Sync { state, block } => {
                self.block(format!("sync {}", state.source()), block, item)
            }
            ItemKind::Service(s) => self.service(s, item),
            ItemKind::Unknown { .. } => self.src(item.span).to_string(),
        }
    }

    fn setting(&self, s: &Setting) -> String {
        let mut line = s.name.text.clone();
        for a in &s.args {
            line.push(' ');
            line.push_str(self.src(a.span));
        }
        line
    }

    fn block(&mut self, head: String, b: &Block, item: &Item) -> String {
        let lines = b
            .settings
            .iter()
            .map(|s| (s.span, self.setting(s)))
            .collect();
        self.braced(head, lines, b.one_line, item, item.span.start, b.close)
    }

    /// `HEAD { a; b }` when it was written on one line and still fits, else one line each,
    /// with the comments between them.
    fn braced(
        &mut self,
        head: String,
        lines: Vec<(crate::source::Span, String)>,
        one_line: bool,
        item: &Item,
        body_start: usize,
        close: crate::source::Span,
    ) -> String {
        let one = if lines.is_empty() {
            format!("{head} {{ }}")
        } else {
            let texts: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
            format!("{head} {{ {} }}", texts.join("; "))
        };
        if one_line
            && one.len() <= ONE_LINE_WIDTH
            && !self.has_comment_in(item.span.start, item.span.end)
        {
            return one;
        }
        let mut out = format!("{head} {{");
        std::mem::swap(&mut out, &mut self.out);
        // A comment after the `{`, before anything else, stays on the opening line.
        let first = lines.first().map_or(close.start, |(span, _)| span.start);
        match self.comments.get(self.next_comment).cloned() {
            Some(c) if c.start < first && !self.text[body_start..c.start].contains('\n') => {
                self.trailing(body_start);
            }
            _ => self.out.push('\n'),
        }
        let mut prev = body_start;
        for (span, line) in &lines {
            self.leading(span.start, prev, INDENT);
            self.out.push_str(INDENT);
            self.out.push_str(line);
            self.trailing(span.end);
            prev = span.end;
        }
        self.leading(close.start, prev, INDENT);
        std::mem::swap(&mut out, &mut self.out);
        out.push('}');
        out
    }

    fn stmt(&self, stmt: &Stmt) -> String {
        match &stmt.kind {
            StmtKind::Scheduler { name, flags } => {
                let mut s = format!("scheduler {}", name.text);
                for f in flags {
                    s.push(' ');
                    s.push_str(&f.text);
                }
                s
            }
            StmtKind::Persistent { timeout, netmask } => {
                let mut s = "persistent".to_string();
                if let Some(t) = timeout {
                    s.push(' ');
                    s.push_str(self.src(t.span));
                }
                if let Some(m) = netmask {
                    s.push_str(" netmask ");
                    s.push_str(self.src(m.span));
                }
                s
            }
            StmtKind::Netmask(m) => format!("netmask {}", self.src(m.span)),
            StmtKind::Pe(p) => format!("pe {}", p.text),
            StmtKind::OnePacket => "one-packet".into(),
            StmtKind::Drain(v) => format!("drain {}", self.src(v.span)),
            StmtKind::Forward(f) => {
                let mut s = format!("forward {}", f.method.text);
                for w in &f.tunnel {
                    match w {
                        TunnelWord::Word(t) => {
                            s.push(' ');
                            s.push_str(&t.text);
                        }
                        TunnelWord::Port { port, .. } => {
                            s.push_str(" port ");
                            s.push_str(self.src(port.span));
                        }
                    }
                }
                s
            }
            StmtKind::Weight(v) => format!("weight {}", self.src(v.span)),
            StmtKind::Upper(v) => format!("upper {}", self.src(v.span)),
            StmtKind::Lower(v) => format!("lower {}", self.src(v.span)),
            StmtKind::Server(s) => {
                let mut line = format!("server {}", self.src(s.addr.span));
                for o in &s.options {
                    line.push(' ');
                    line.push_str(&self.stmt(o));
                }
                line
            }
            StmtKind::Unknown { word, args } => {
                let mut s = word.text.clone();
                for a in args {
                    s.push(' ');
                    s.push_str(&a.text);
                }
                s
            }
        }
    }

    fn service(&mut self, s: &ServiceDecl, item: &Item) -> String {
        let head = match &s.key {
            ServiceKeyDecl::Fwmark { mark, family } => {
                let mut h = format!("service fwmark {}", self.src(mark.span));
                if let Some(f) = family {
                    h.push(' ');
                    h.push_str(&f.text);
                }
                h
            }
            ServiceKeyDecl::Inet { protocol, endpoint } => {
                format!("service {} {}", protocol.text, self.src(endpoint.span))
            }
        };
        let lines = s.stmts.iter().map(|st| (st.span, self.stmt(st))).collect();
        self.braced(head, lines, s.one_line, item, s.head.end, s.close)
    }
}
