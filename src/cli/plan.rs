use std::path::PathBuf;

use clap::ValueEnum;

use super::{InputArgs, EXIT_OK};
use crate::compiler::InputFormat;
use crate::diagnostic::Style;
use crate::kernel::Kernel;
use crate::model::Table;
use crate::plan::{self, Plan, Scope};
use crate::source::Sources;

/// Exit status of `plan --detailed-exitcode` when there are changes.
pub const EXIT_CHANGES: i32 = 2;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The configuration to reach (`-` for standard input).
    file: PathBuf,
    #[command(flatten)]
    input: InputArgs,
    /// Compare with a saved table (an `ipvsadm -S` dump or `ipvsc save` output), or `empty`,
    /// instead of the kernel's: no root needed, for reviewing a change in CI.
    #[arg(long, value_name = "DUMP|empty")]
    from: Option<String>,
    /// What the file owns: the whole table, or only the services and daemons it declares.
    #[arg(long, value_enum, default_value_t = Scope::All)]
    scope: Scope,
    /// The output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    format: PlanFormat,
    /// Exit 0 when there is nothing to do, 2 when there are changes, 1 on errors.
    #[arg(long)]
    detailed_exitcode: bool,
}

/// `ipvsc plan`: what `apply` would do, as a reviewer reads it.
pub fn run(args: Args, style: Style) -> i32 {
    let mut sources = Sources::new();
    let desired = match super::load_checked(&mut sources, &args.file, &args.input, style) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let current = match current_table(args.from.as_deref(), style) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let plan = plan::plan(&desired.table, &desired.map, &current, args.scope);
    match args.format {
        PlanFormat::Text => print!("{}", plan::render(&plan, &sources)),
        PlanFormat::Json => print!("{}", plan::render_json(&plan, &sources)),
    }
    exit_status(&plan, args.detailed_exitcode)
}

fn exit_status(plan: &Plan, detailed: bool) -> i32 {
    if detailed && !plan.is_empty() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    }
}

/// The table to compare with: a dump, nothing, or the kernel's.
fn current_table(from: Option<&str>, style: Style) -> Result<Table, i32> {
    match from {
        Some("empty") => Ok(crate::kernel::MemoryKernel::new()
            .read()
            .expect("the in-memory kernel reads")),
        Some(dump) => super::load_clean(std::path::Path::new(dump), InputFormat::Auto, style),
        None => {
            let mut kernel = super::open_netlink()?;
            kernel.read().map_err(|e| super::kernel_failure(&e))
        }
    }
}
