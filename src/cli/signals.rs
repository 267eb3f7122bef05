//! The process's signals belong to the CLI: it turns SIGINT and SIGTERM into the library's
//! [`Cancel`], where a command can stop cleanly (a transaction rolls back, a wait ends).

use std::sync::OnceLock;

use crate::apply::Cancel;

/// The process's one request to stop. One, not one per caller: a signal that lands between
/// two stages (after a transaction, before the wait for drains) must still be seen by the
/// second.
static CANCEL: OnceLock<Cancel> = OnceLock::new();

/// From now on SIGINT and SIGTERM set the returned request to stop, instead of killing the
/// process. Only commands that can stop cleanly call it; the others keep the default.
pub fn cancel_on_signals() -> Cancel {
    CANCEL
        .get_or_init(|| {
            let cancel = Cancel::default();
            for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                // Registering a flag cannot fail for these signals (only for the forbidden
                // ones, SIGKILL and the like); were it to, the signal would still end the
                // process.
                let _ = signal_hook::flag::register(signal, cancel.flag());
            }
            cancel
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signal taken by one stage is seen by the next (the apply's wait for drains used to
    /// miss a Ctrl-C that landed right after the transaction).
    #[test]
    fn every_stage_shares_one_request() {
        let first = cancel_on_signals();
        let second = cancel_on_signals();
        first.cancel();
        assert!(second.is_cancelled());
    }
}
