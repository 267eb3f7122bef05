use std::path::PathBuf;

use super::{InputArgs, EXIT_ERRORS, EXIT_OK};
use crate::diagnostic::Style;
use crate::source::Sources;

#[derive(clap::Args)]
pub struct Args {
    /// An ipvsadm -S dump or ipvsadm -R script (`-` for standard input).
    file: PathBuf,
    #[command(flatten)]
    input: InputArgs,
}

/// `ipvsc convert`: the table the input describes, in the ipvsc language.
pub fn run(args: Args, style: Style) -> i32 {
    let mut sources = Sources::new();
    let compiled = match super::load(&mut sources, &args.file, args.input.input_format) {
        Ok(c) => c,
        Err(code) => return code,
    };
    super::print_diagnostics(&compiled.diagnostics, &sources, style);
    if compiled.has_errors() {
        return EXIT_ERRORS;
    }
    print!("{}", compiled.table.to_ipvs());
    EXIT_OK
}
