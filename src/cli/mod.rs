//! The `ipvsc` command line: one file per subcommand.

mod apply;
mod check;
mod convert;
mod drain;
mod error;
mod fmt;
mod list;
mod lsp;
#[cfg(feature = "test-hooks")]
mod ops;
mod overrides;
mod plan;
mod recover;
mod save;
mod signals;
mod trace;
mod zero;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::compiler::{self, Compiled, Define, InputFormat, Options};
use crate::diagnostic::{self, Diagnostic, Style};
use crate::kernel::netlink::{self, NetlinkKernel};
use crate::model::Table;
use crate::source::Sources;

pub use error::{Error, Exit, Outcome};

/// How ipvsc behaves on a live director: the man page's closing section.
const OPERATIONS: &str = "\
Draining: a real server that leaves the file is set to weight 0 and deleted when its connections \
are gone (ActiveConn, InActConn and persistence templates, less closed connections) or at its \
deadline. `drain DURATION|off` in the file (at the top, or in a service) or `--drain` says how \
long; TCP, SCTP and firewall marks drain 15m by default, UDP is deleted at once. `apply` waits \
for the drains (--no-wait returns at once); drains are recorded in the state directory \
(/var/lib/ipvsc, or $IPVSC_STATE_DIR) and finished by `ipvsc drain`, `ipvsc drain --wait` or \
the next apply. A server put back while draining gets its weight back by an edit.\n\n\
Overrides: `ipvsc disable SERVICE SERVER`, `ipvsc weight SERVICE SERVER N` and `ipvsc enable \
SERVICE SERVER` change one server at once and are kept by every apply until enabled again; \
`ipvsc overrides` lists them. Usable from keepalived notify scripts and MISC_CHECK.\n\n\
Fleets: `--define NAME=VALUE` sets or overrides a file's `define`, so one file serves many \
directors (their VIPs, sync role, interfaces).\n\n\
Boot and reload: the systemd unit ipvsc.service applies /etc/ipvsc/ipvsc.ipvs at start and on \
reload, and removes nothing at stop; ipvsc-drain.timer runs `ipvsc drain` every 30 seconds.\n\n\
Large tables: IPVSC_TRACE=1 makes `apply` and `plan` print each stage's time, memory \
(resident and peak) and the CPU time of the thread that ran it (user and system) to standard \
error.";

#[derive(Parser)]
#[command(
    name = "ipvsc",
    version,
    about = "The Linux IPVS (LVS) table as code: check, format and convert load-balancer configuration",
    long_about = "ipvsc compiles *.ipvs files (and ipvsadm -S dumps) into the kernel's IPVS table.\n\
                  Every command that takes a FILE reads standard input for `-`.",
    after_long_help = OPERATIONS
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to color diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// How `check` prints diagnostics.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticFormat {
    /// Source excerpts with labels and help, like rustc.
    Human,
    /// One line each: FILE:LINE:COL: error[CODE]: MESSAGE (for editors and grep).
    Short,
    /// A JSON array on standard output.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check files for errors without touching the kernel (no root needed; for CI).
    Check(check::Args),
    /// Print files in the canonical layout, keeping comments.
    Fmt(fmt::Args),
    /// Turn an ipvsadm -S dump or ipvsadm -R script into the ipvsc language.
    Convert(convert::Args),
    /// Print the table a file describes: as .ipvs, as `ipvsadm -S -n` would, or as JSON.
    Save(save::Args),
    /// Show what `apply` would change, as `+`, `~`, `-` and `-/+` lines and a summary.
    Plan(plan::Args),
    /// Make the kernel's table what the file says, all or nothing (needs root).
    Apply(apply::Args),
    /// Put back the table an interrupted apply found, from its journal (needs root).
    Recover,
    /// Finish the drains of removed servers that are due, and list the others (needs root).
    Drain(drain::Args),
    /// Set a real server's weight to 0 now and keep it so across applies (needs root).
    #[command(
        override_usage = "ipvsc disable [--drain[=DURATION]] SERVICE SERVER\n       \
                                ipvsc disable tcp 10.0.0.1:80 10.0.0.2:8080"
    )]
    Disable(overrides::DisableArgs),
    /// Clear `disable` or `weight`: give the server back the file's weight (needs root).
    #[command(override_usage = "ipvsc enable SERVICE SERVER")]
    Enable(overrides::Target),
    /// Set a real server's weight now and keep it across applies (needs root).
    #[command(override_usage = "ipvsc weight SERVICE SERVER WEIGHT")]
    Weight(overrides::WeightArgs),
    /// List the overrides set by disable and weight.
    Overrides(overrides::ListArgs),
    /// Show the kernel's table, like `ipvsadm -L -n` (needs root), or its connections (`-c`).
    List(list::Args),
    /// Reset the kernel's counters, of one service or all, like `ipvsadm -Z` (needs root).
    Zero(zero::Args),
    /// Delete every virtual service from the kernel, like `ipvsadm -C` (needs root).
    Clear,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (troff), for `man -l -` or /usr/share/man/man1/ipvsc.1.
    Man,
    /// Run the language server for editors, over standard input and output.
    Lsp(lsp::Args),
    /// Run a JSON list of kernel operations and print each result (the differential test;
    /// only in builds with the `test-hooks` feature).
    #[cfg(feature = "test-hooks")]
    #[command(hide = true)]
    Ops(ops::Args),
}

/// Options shared by every command that reads configuration.
#[derive(clap::Args)]
pub struct InputArgs {
    /// Read the input as this format instead of detecting it.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    input_format: InputFormat,
    /// Set the constant NAME, overriding the file's `define NAME = ...` (repeatable).
    #[arg(long = "define", short = 'D', value_name = "NAME=VALUE")]
    defines: Vec<Define>,
    /// The largest file read, the one named and each it includes (default 256M): input
    /// beyond it is an error, not memory used.
    #[arg(long, value_name = "SIZE", value_parser = crate::source::parse_size,
          default_value_t = crate::source::DEFAULT_MAX_INPUT, hide_default_value = true)]
    max_input_size: u64,
}

impl From<&InputArgs> for Options {
    fn from(args: &InputArgs) -> Options {
        Options {
            format: args.input_format,
            defines: args.defines.clone(),
            max_input: args.max_input_size,
        }
    }
}

/// Runs the command line and returns the exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            }
            .code();
        }
    };
    let style = Style {
        color: match cli.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        },
        width: terminal_width(),
    };
    let outcome = match cli.command {
        Command::Check(args) => check::run(args, style),
        Command::Fmt(args) => fmt::run(args, style),
        Command::Convert(args) => convert::run(args, style),
        Command::Save(args) => save::run(args, style),
        #[cfg(feature = "test-hooks")]
        Command::Ops(args) => ops::run(args),
        Command::List(args) => list::run(args),
        Command::Plan(args) => plan::run(args, style),
        Command::Apply(args) => apply::run(args, style),
        Command::Recover => recover::run(),
        Command::Drain(args) => drain::run(args),
        Command::Disable(args) => overrides::disable(args),
        Command::Enable(args) => overrides::enable(args),
        Command::Weight(args) => overrides::weight(args),
        Command::Overrides(args) => overrides::list(args),
        Command::Lsp(args) => lsp::run(args),
        Command::Zero(args) => zero::run(args),
        Command::Clear => apply_one(crate::kernel::Op::Flush),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "ipvsc", &mut std::io::stdout());
            Ok(Exit::Ok)
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map(|()| Exit::Ok)
            .map_err(|e| Error::usage(e.to_string())),
    };
    match outcome {
        Ok(exit) => exit.code(),
        Err(e) => error::report(&e).code(),
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

/// Reads and compiles one file; an error after an I/O error, or after `--define` with an
/// ipvsadm dump (which has no constants to set).
pub(crate) fn load(
    sources: &mut Sources,
    path: &Path,
    options: impl Into<Options>,
) -> Result<Compiled, Error> {
    let options = options.into();
    sources.set_limit(options.max_input);
    let id = sources
        .read(path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    let format = compiler::detect(&sources.get(id).text, options.format);
    if format == InputFormat::Ipvsadm && !options.defines.is_empty() {
        return Err(Error::usage(format!(
            "--define sets constants of a .ipvs file, but {} is ipvsadm input, which has none",
            sources.get(id).name
        )));
    }
    Ok(compiler::compile(sources, id, &options))
}

/// Reads and compiles one file into `sources`, prints its diagnostics, and gives the result
/// when it has no errors.
pub(crate) fn load_checked(
    sources: &mut Sources,
    path: &Path,
    options: impl Into<Options>,
    style: Style,
) -> Result<Compiled, Error> {
    let compiled = load(sources, path, options)?;
    print_diagnostics(&compiled.diagnostics, sources, style);
    if compiled.has_errors() {
        return Err(Error::Reported(Exit::Errors));
    }
    Ok(compiled)
}

/// [`load_checked`] of `path` on this thread while `read` runs on another: compiling a file
/// and reading the kernel's table need nothing from each other. The file's errors come first
/// (the reading thread is left to end with the process); then `read`'s. `read` gets a flag
/// set when the compile ends, for a second reader to wait for
/// ([`NetlinkKernel::second_reader_after`]).
pub(crate) fn compile_while<R: Send + 'static>(
    sources: &mut Sources,
    path: &Path,
    options: impl Into<Options>,
    style: Style,
    read: impl FnOnce(Arc<AtomicBool>) -> Result<R, Error> + Send + 'static,
) -> Result<(Compiled, R), Error> {
    let compiled = Arc::new(AtomicBool::new(false));
    let gate = compiled.clone();
    let reader = std::thread::Builder::new()
        .name("read".into())
        .spawn(move || read(gate))
        .map_err(|e| Error::usage(format!("cannot start a thread: {e}")))?;
    let loaded = load_checked(sources, path, options, style);
    compiled.store(true, Ordering::Release);
    let compiled = loaded?;
    let read = reader
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    Ok((compiled, read))
}

/// Lets go of `value` without freeing it, for the tables, plans and sources a command holds
/// when the process is about to exit: the kernel takes the whole address space back at once.
/// Small: 7% of the CPU time of `plan --from` a saved table of 100,000 servers to the same
/// table (`perf stat -r 15` on the host), nothing measurable at 20,000 in the guest. Only for
/// values whose drop does nothing but free memory (no file to flush, no lock to release).
pub(crate) fn leave_to_exit<T>(value: T) {
    std::mem::forget(value);
}

/// [`load_checked`], for the table alone.
pub(crate) fn load_clean(
    path: &Path,
    options: impl Into<Options>,
    style: Style,
) -> Result<Table, Error> {
    load_checked(&mut Sources::new(), path, options, style).map(|c| c.table)
}

/// The state directory (lock, journal, drains and overrides): `$IPVSC_STATE_DIR`, or
/// /var/lib/ipvsc.
pub(crate) fn state_dir() -> crate::apply::StateDir {
    crate::apply::StateDir::new(
        std::env::var_os("IPVSC_STATE_DIR")
            .filter(|v| !v.is_empty())
            .map_or_else(
                || std::path::PathBuf::from(crate::apply::DEFAULT_STATE_DIR),
                std::path::PathBuf::from,
            ),
    )
}

/// The environment variable naming a directory where every netlink datagram sent and received
/// is written (`0001-send.bin`, `0002-recv.bin`, ...); unset or empty, nothing is written. How
/// the fixtures of `src/kernel/packet/captures/` were made.
const CAPTURE_ENV: &str = "IPVSC_CAPTURE";

/// The real kernel's IPVS, with the options the environment sets.
pub(crate) fn open_netlink() -> Result<NetlinkKernel, Error> {
    let options = netlink::Options {
        capture: std::env::var_os(CAPTURE_ENV)
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from),
        #[cfg(feature = "test-hooks")]
        fault: test_fault()?,
        #[cfg(feature = "test-hooks")]
        readers: test_readers()?,
        ..netlink::Options::default()
    };
    Ok(NetlinkKernel::open(options)?)
}

/// `IPVSC_TEST_READERS=1|2`: how many threads read the servers' dumps, whatever the CPUs (the
/// kernel tests run in a guest of one CPU); only in builds with the `test-hooks` feature.
#[cfg(feature = "test-hooks")]
fn test_readers() -> Result<Option<usize>, Error> {
    const READERS_ENV: &str = "IPVSC_TEST_READERS";
    match std::env::var(READERS_ENV).as_deref() {
        Err(_) | Ok("") => Ok(None),
        Ok("1") => Ok(Some(1)),
        Ok("2") => Ok(Some(2)),
        Ok(v) => Err(Error::Input(format!("{READERS_ENV}={v}: write 1 or 2"))),
    }
}

/// The fault `IPVSC_TEST_FAULT=KIND:N` names, for the kernel tests of the applier (see
/// `kernel::fault`); only in builds with the `test-hooks` feature.
#[cfg(feature = "test-hooks")]
fn test_fault() -> Result<Option<crate::kernel::fault::Fault>, Error> {
    const FAULT_ENV: &str = "IPVSC_TEST_FAULT";
    match std::env::var(FAULT_ENV) {
        Err(_) => Ok(None),
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => crate::kernel::fault::parse(&v)
            .map(Some)
            .map_err(|why| Error::Input(format!("cannot read {FAULT_ENV}={v}: {why}"))),
    }
}

/// The real kernel as a [`Kernel`](crate::kernel::Kernel).
#[cfg(feature = "test-hooks")]
pub(crate) fn open_kernel() -> Result<Box<dyn crate::kernel::Kernel>, Error> {
    Ok(Box::new(open_netlink()?))
}

/// Performs one operation on the real kernel (`zero`, `clear`).
pub(crate) fn apply_one(op: crate::kernel::Op) -> Outcome {
    use crate::kernel::Kernel;
    open_netlink()?.apply(&op)?;
    Ok(Exit::Ok)
}

/// Prints diagnostics to standard error.
pub(crate) fn print_diagnostics(diagnostics: &[Diagnostic], sources: &Sources, style: Style) {
    for d in diagnostics {
        eprint!("{}", diagnostic::render(d, sources, style));
    }
}
