use std::path::PathBuf;

use super::{error, DiagnosticFormat, Exit, InputArgs, Outcome};
use crate::diagnostic::{self, Style};
use crate::source::{display_name, Sources};

#[derive(clap::Args)]
pub struct Args {
    /// Files to check (`-` for standard input).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    input: InputArgs,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    format: DiagnosticFormat,
    /// Treat warnings as errors.
    #[arg(long)]
    deny_warnings: bool,
    /// Print nothing for files without problems.
    #[arg(short, long)]
    quiet: bool,
}

/// `ipvsc check`: exit 0 when clean (warnings allowed), 1 on errors, 2 on usage or I/O errors.
pub fn run(args: Args, style: Style) -> Outcome {
    let mut sources = Sources::new();
    let mut all = Vec::new();
    let mut status = Exit::Ok;
    for path in &args.files {
        let compiled = match super::load(&mut sources, path, &args.input) {
            Ok(c) => c,
            Err(e) => {
                status = status.max(error::report(&e));
                continue;
            }
        };
        let errors = compiled.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = compiled.diagnostics.len() - errors;
        if errors > 0 || (args.deny_warnings && warnings > 0) {
            status = status.max(Exit::Errors);
        }
        match args.format {
            DiagnosticFormat::Human => {
                super::print_diagnostics(&compiled.diagnostics, &sources, style);
                if !args.quiet || errors + warnings > 0 {
                    let t = &compiled.table;
                    let verdict = if errors > 0 { "failed" } else { "ok" };
                    eprintln!(
                        "{}: {verdict}: {} {}, {} {}; {errors} {}, {warnings} {}",
                        display_name(path),
                        t.services.len(),
                        plural(t.services.len(), "service"),
                        t.server_count(),
                        plural(t.server_count(), "server"),
                        plural(errors, "error"),
                        plural(warnings, "warning"),
                    );
                }
            }
            DiagnosticFormat::Short => {
                for d in &compiled.diagnostics {
                    println!("{}", diagnostic::render_short(d, &sources));
                }
            }
            DiagnosticFormat::Json => all.extend(compiled.diagnostics),
        }
    }
    if args.format == DiagnosticFormat::Json {
        println!("{}", diagnostic::render_json(&all, &sources));
    }
    Ok(status)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}
