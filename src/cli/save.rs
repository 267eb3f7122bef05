use std::path::PathBuf;

use clap::ValueEnum;

use super::{Exit, InputArgs, Outcome};
use crate::diagnostic::Style;
use crate::kernel::host_defaults::host_defaults;
use crate::kernel::memory::SYSCTL_DEFAULTS;
use crate::kernel::netlink::dumped_services;
use crate::legacy::{ipvsadm_save, ipvsadm_save_ordered, SaveExtras};
use crate::model::{Sysctl, SysctlValue, Table, Timeouts};

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
    /// The configuration whose table to print (`-` for standard input); without it, the
    /// kernel's own table (needs root).
    file: Option<PathBuf>,
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
            #[derive(serde::Serialize)]
            struct Document {
                format_version: u32,
                table: crate::wire::TableDoc,
            }
            let doc = Document {
                format_version: crate::wire::SAVE_VERSION,
                table: table.into(),
            };
            let mut s = serde_json::to_string_pretty(&doc).expect("a table serializes");
            s.push('\n');
            s
        }
    }
}

/// `ipvsc save [FILE]`: the table FILE describes, or the kernel's.
pub fn run(args: Args, style: Style) -> Outcome {
    let extras = if args.strict {
        SaveExtras::NONE
    } else {
        SaveExtras::ALL
    };
    let Some(file) = &args.file else {
        return save_kernel(args.format, extras);
    };
    let table = super::load_clean(file, &args.input, style)?;
    print!("{}", render(&table, args.format, extras));
    Ok(Exit::Ok)
}

/// The kernel's table. As ipvsadm prints it, in ipvsadm's order (which depends on the kernel's
/// dump order); as .ipvs, what recreates it on an empty kernel, leaving out what is at the
/// kernel's defaults.
fn save_kernel(format: SaveFormat, extras: SaveExtras) -> Outcome {
    let mut kernel = super::open_netlink()?;
    let (table, order) = kernel.read_with_order()?;
    let text = match format {
        SaveFormat::Ipvsadm => {
            let declared = without_defaults(table.clone(), &host_defaults());
            ipvsadm_save_ordered(
                &dumped_services(&order),
                &declared.timeouts,
                table.daemons.values(),
                extras,
            )
        }
        SaveFormat::Ipvs => without_defaults(table, &host_defaults()).to_ipvs(),
        SaveFormat::Json => render(&table, format, extras),
    };
    print!("{text}");
    Ok(Exit::Ok)
}

/// The table less the timeouts and sysctls that a fresh kernel has anyway: the fixed defaults,
/// and `host`, those this host's kernel computed (a value equal to one is not a setting, and
/// saving it would pin this host's value on every host the file is applied to).
fn without_defaults(mut table: Table, host: &[(Sysctl, SysctlValue)]) -> Table {
    let d = Timeouts::KERNEL_DEFAULT;
    let t = &mut table.timeouts;
    for (slot, default) in [
        (&mut t.tcp, d.tcp),
        (&mut t.tcpfin, d.tcpfin),
        (&mut t.udp, d.udp),
    ] {
        if *slot == default {
            *slot = None;
        }
    }
    table
        .sysctls
        .retain(|k, v| !SYSCTL_DEFAULTS.contains(&(*k, *v)) && !host.contains(&(*k, *v)));
    table
}
