//! The constants and includes of a file, found in its syntax tree (which holds every statement
//! that parsed, syntax errors or not), and in the files it includes.

use std::path::{Path, PathBuf};

use crate::source::FileId;
use crate::syntax::{self, ast::ItemKind};

/// A `define`: its name, where the name is, and its value as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Define {
    pub name: String,
    pub value: String,
    /// The file it is in; `None` for the document itself.
    pub file: Option<PathBuf>,
    /// The text of that file, to turn `start..end` into a position.
    pub text: std::sync::Arc<str>,
    pub start: usize,
    pub end: usize,
}

/// An `include`: the text of its path, the span of the whole statement, and the file it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Include {
    pub start: usize,
    pub end: usize,
    /// The file, resolved against the including file's folder (or the working directory).
    pub path: PathBuf,
}

/// How deep includes are followed looking for constants.
const MAX_DEPTH: usize = 16;

/// The includes of a file, in order.
pub fn includes(text: &str, dir: Option<&Path>) -> Vec<Include> {
    let (tree, _) = syntax::parse(text, FileId(0));
    tree.items
        .iter()
        .filter_map(|item| match &item.kind {
            ItemKind::Include { path } => Some(Include {
                start: item.span.start,
                end: item.span.end,
                path: dir.unwrap_or(Path::new("")).join(&path.text),
            }),
            _ => None,
        })
        .collect()
}

/// The constants a file defines, then those of the files it includes (read from disk), in order.
pub fn defines(text: &str, path: Option<&Path>) -> Vec<Define> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    collect(text.into(), path, None, 0, &mut seen, &mut out);
    out
}

fn collect(
    text: std::sync::Arc<str>,
    path: Option<&Path>,
    file: Option<PathBuf>,
    depth: usize,
    seen: &mut Vec<PathBuf>,
    out: &mut Vec<Define>,
) {
    if let Some(p) = path {
        let canonical = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        if seen.contains(&canonical) {
            return;
        }
        seen.push(canonical);
    }
    let (tree, _) = syntax::parse(&text, FileId(0));
    let dir = path.and_then(Path::parent);
    for item in &tree.items {
        match &item.kind {
            ItemKind::Define { name, value } => out.push(Define {
                name: name.text.clone(),
                value: value.text.clone(),
                file: file.clone(),
                text: text.clone(),
                start: name.span.start,
                end: name.span.end,
            }),
            ItemKind::Include { path: included } if depth < MAX_DEPTH => {
                let full = dir.unwrap_or(Path::new("")).join(&included.text);
                // The compiler's limits: a regular file, and not too large.
                let read = crate::source::read_bounded(&full, crate::source::DEFAULT_MAX_INPUT);
                if let Ok(inner) = read.map(|b| String::from_utf8_lossy(&b).into_owned()) {
                    let inner: std::sync::Arc<str> = inner.into();
                    collect(inner, Some(&full), Some(full.clone()), depth + 1, seen, out);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_constants_in_the_file_and_its_includes() {
        let dir = std::env::temp_dir().join(format!("ipvsc-lsp-symbols-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("common.ipvs"), "define pool = 10.0.0.1-10.0.0.4\n")
            .expect("write");
        let main = dir.join("main.ipvs");
        let text = "define vip = 10.0.0.1\ninclude \"common.ipvs\"\ninclude \"main.ipvs\"\n";
        let found = defines(text, Some(&main));
        let names: Vec<_> = found.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["vip", "pool"]);
        assert_eq!(
            (found[0].start, found[0].end, found[0].file.clone()),
            (7, 10, None)
        );
        assert_eq!(found[1].file.as_deref(), Some(&*dir.join("common.ipvs")));
        let inc = includes(text, main.parent());
        assert_eq!(inc.len(), 2);
        assert_eq!(
            (inc[0].start, inc[0].path.clone()),
            (22, dir.join("common.ipvs"))
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
