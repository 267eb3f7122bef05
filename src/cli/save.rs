use std::path::PathBuf;

use clap::ValueEnum;

use super::{InputArgs, EXIT_OK};
use crate::diagnostic::Style;
use crate::model::{ipvsadm_save, SaveExtras, Table};

#[derive(Clone, Copy, ValueEnum)]
pub enum SaveFormat {
    /// The ipvsc language.
    Ipvs,
    /// Exactly what `ipvsadm -S -n` prints, plus what it loses (thresholds, timeouts, daemons).
    Ipvsadm,
    /// The table as JSON.
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The configuration whose table to print (`-` for standard input).
    file: PathBuf,
    #[command(flatten)]
    input: InputArgs,
    /// The output format.
    #[arg(long, value_enum, default_value_t = SaveFormat::Ipvs)]
    format: SaveFormat,
    /// With `--format ipvsadm`: exactly what `ipvsadm -S -n` prints, without the thresholds,
    /// timeouts and daemons it loses.
    #[arg(long)]
    strict: bool,
}

/// Renders a table in one of the save formats.
pub fn render(table: &Table, format: SaveFormat, extras: SaveExtras) -> String {
    match format {
        SaveFormat::Ipvs => table.to_ipvs(),
        SaveFormat::Ipvsadm => ipvsadm_save(table, extras),
        SaveFormat::Json => {
            let mut s = serde_json::to_string_pretty(table).expect("a table serializes");
            s.push('\n');
            s
        }
    }
}

/// `ipvsc save FILE`: the table FILE describes.
pub fn run(args: Args, style: Style) -> i32 {
    match super::load_clean(&args.file, args.input.input_format, style) {
        Ok(table) => {
            let extras = if args.strict {
                SaveExtras::NONE
            } else {
                SaveExtras::ALL
            };
            print!("{}", render(&table, args.format, extras));
            EXIT_OK
        }
        Err(code) => code,
    }
}
