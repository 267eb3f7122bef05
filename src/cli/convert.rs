use std::path::PathBuf;

use super::save::{render, SaveFormat};
use super::{Exit, InputArgs, Outcome};
use crate::diagnostic::Style;
use crate::legacy::SaveExtras;

#[derive(clap::Args)]
pub struct Args {
    /// An ipvsadm -S dump or ipvsadm -R script (`-` for standard input).
    file: PathBuf,
    #[command(flatten)]
    input: InputArgs,
}

/// `ipvsc convert`: the table the input describes, in the ipvsc language.
pub fn run(args: Args, style: Style) -> Outcome {
    let table = super::load_clean(&args.file, &args.input, style)?;
    print!("{}", render(&table, SaveFormat::Ipvs, SaveExtras::ALL));
    Ok(Exit::Ok)
}
