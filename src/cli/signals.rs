//! The process's signals belong to the CLI: it turns SIGINT and SIGTERM into the library's
//! [`Cancel`], where a command can stop cleanly (a transaction rolls back, a wait ends).

use crate::apply::Cancel;

/// From now on SIGINT and SIGTERM set the returned request to stop, instead of killing the
/// process. Only commands that can stop cleanly call it; the others keep the default.
pub fn cancel_on_signals() -> Cancel {
    let cancel = Cancel::default();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registering a flag cannot fail for these signals (only for the forbidden ones,
        // SIGKILL and the like); were it to, the signal would still end the process.
        let _ = signal_hook::flag::register(signal, cancel.flag());
    }
    cancel
}
