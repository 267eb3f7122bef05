use std::path::PathBuf;

use super::{error, Error, Exit, Outcome};
use crate::diagnostic::Style;
use crate::source::{display_name, Sources};
use crate::syntax;

#[derive(clap::Args)]
pub struct Args {
    /// Files to format (`-` for standard input).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print nothing; exit 1 if a file is not in the canonical layout (for CI).
    #[arg(long, conflicts_with = "write")]
    check: bool,
    /// Rewrite the files in place.
    #[arg(long, short)]
    write: bool,
}

/// `ipvsc fmt`: the canonical layout; syntax errors leave the file alone.
pub fn run(args: Args, style: Style) -> Outcome {
    let mut sources = Sources::new();
    let mut status = Exit::Ok;
    for path in &args.files {
        let id = match sources.read(path) {
            Ok(id) => id,
            Err(e) => {
                let e = Error::usage(format!("cannot read {}: {e}", path.display()));
                status = status.max(error::report(&e));
                continue;
            }
        };
        if let Some(d) = sources.encoding_error(id) {
            super::print_diagnostics(&[d], &sources, style);
            status = status.max(Exit::Errors);
            continue;
        }
        let text = sources.get(id).text.clone();
        if crate::legacy::looks_legacy(&text) {
            eprintln!(
                "ipvsc: {} is an ipvsadm script; `ipvsc convert` turns it into the ipvsc language",
                display_name(path)
            );
            status = status.max(Exit::Errors);
            continue;
        }
        let (tree, diagnostics) = syntax::parse(&text, id);
        if !diagnostics.is_empty() {
            super::print_diagnostics(&diagnostics, &sources, style);
            status = status.max(Exit::Errors);
            continue;
        }
        let formatted = syntax::format::format(&text, &tree);
        if args.check {
            if *formatted != *text {
                eprintln!(
                    "{}: not formatted (run `ipvsc fmt --write`)",
                    display_name(path)
                );
                status = status.max(Exit::Errors);
            }
        } else if args.write && path.as_os_str() != "-" {
            if *formatted != *text {
                if let Err(e) = std::fs::write(path, &formatted) {
                    let e = Error::usage(format!("cannot write {}: {e}", path.display()));
                    status = status.max(error::report(&e));
                }
            }
        } else {
            print!("{formatted}");
        }
    }
    Ok(status)
}
