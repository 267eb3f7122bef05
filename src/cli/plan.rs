use std::path::PathBuf;

use clap::ValueEnum;

use super::trace::Stages;
use super::{Error, Exit, InputArgs, Outcome};
use crate::compiler::{Compiled, InputFormat};
use crate::diagnostic::Style;
use crate::kernel::netlink::NetlinkKernel;
use crate::kernel::Kernel;
use crate::model::Table;
use crate::plan::state::{self, State};
use crate::plan::{self, Live, Plan, Scope};
use crate::source::Sources;

/// Exit status of `plan --detailed-exitcode` when there are changes.

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
    #[command(flatten)]
    drain: super::apply::DrainArg,
}

/// `ipvsc plan`: what `apply` would do, as a reviewer reads it.
pub fn run(args: Args, style: Style) -> Outcome {
    let trace = Stages::from_env();
    let mut sources = Sources::new();
    let plan = match args.from.as_deref() {
        // A saved table has no connections and no recorded drains: every leaving server that
        // drains is shown draining.
        Some(from) => {
            let mut desired = super::load_checked(&mut sources, &args.file, &args.input, style)?;
            args.drain.apply_to(&mut desired.policy);
            let current = saved_table(from, style)?;
            let live = Live {
                policy: &desired.policy,
                loads: None,
                state: &State::default(),
                now: state::now(),
            };
            plan::plan_live(&desired.table, &desired.map, &current, args.scope, &live)
        }
        None => {
            // The file is compiled while the kernel's table is read.
            let (mut desired, (kernel, current, recorded)) = super::compile_while(
                &mut sources,
                &args.file,
                &args.input,
                style,
                move |compiled| {
                    let mut kernel = super::open_netlink()?;
                    kernel.second_reader_after(compiled);
                    let current = kernel.read()?;
                    trace.mark("kernel read");
                    let recorded = super::drain::recorded()?;
                    Ok((kernel, current, recorded))
                },
            )?;
            trace.mark("compiled");
            args.drain.apply_to(&mut desired.policy);
            live_plan(&desired, kernel, &current, &recorded, args.scope)?
        }
    };
    trace.mark("planned");
    // Written as it is made: a plan of a million changes is not held as text too.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        PlanFormat::Text => plan::write(&plan, &sources, &mut out),
        PlanFormat::Json => plan::write_json(&plan, &sources, &mut out),
    }
    .and_then(|()| std::io::Write::flush(&mut out))
    .map_err(|e| Error::usage(format!("cannot write the plan: {e}")))?;
    trace.mark("written");
    let status = exit_status(&plan, args.detailed_exitcode);
    super::leave_to_exit((plan, sources));
    Ok(status)
}

fn exit_status(plan: &Plan, detailed: bool) -> Exit {
    if detailed && !plan.is_empty() {
        Exit::Changes
    } else {
        Exit::Ok
    }
}

/// The table to compare with: a dump, or nothing.
fn saved_table(from: &str, style: Style) -> Result<Table, Error> {
    match from {
        "empty" => Ok(crate::kernel::MemoryKernel::new()
            .read()
            .expect("the in-memory kernel reads")),
        dump => super::load_clean(std::path::Path::new(dump), InputFormat::Auto, style),
    }
}

/// The plan against the kernel's table, with its servers' connections and the recorded drains
/// and overrides.
fn live_plan(
    desired: &Compiled,
    mut kernel: NetlinkKernel,
    current: &Table,
    recorded: &State,
    scope: Scope,
) -> Result<Plan, Error> {
    let leaving = plan::leaving(&desired.table, current, recorded);
    let loads = kernel.loads(&leaving)?;
    let live = Live {
        policy: &desired.policy,
        loads: Some(&loads),
        state: recorded,
        now: state::now(),
    };
    Ok(plan::plan_live(
        &desired.table,
        &desired.map,
        current,
        scope,
        &live,
    ))
}
