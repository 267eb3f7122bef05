//! Why a request failed ([`Failure`]), and what that means in the words of a [`KernelError`]:
//! for a read, nothing changed; for a write, a refusal is a refusal, but a request whose answer
//! was lost may have been performed.

use std::fmt;
use std::io;

use super::DUMP_ATTEMPTS;
use crate::kernel::error::explain;
use crate::kernel::{KernelError, Op, Unavailable};

/// Why a request failed, before it is put in the words of a [`KernelError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::kernel) enum Failure {
    /// The kernel answered with an error: the positive errno and its extended-ack text.
    Refused { errno: i32, ext_ack: Option<String> },
    /// The socket failed; the outcome of what was in flight is unknown.
    Io { errno: Option<i32>, text: String },
    /// A reply made no sense.
    Decode(String),
    /// Every attempt at a dump was marked NLM_F_DUMP_INTR.
    Interrupted,
    /// Requests were sent and no answer came for them. The kernel performs a `send()`'s
    /// requests before the call returns, queueing their ACKs, but sends none for a request
    /// whose handler says it was interrupted (EINTR): stopping a sync daemon whose thread had
    /// not started running yet says so, after stopping it. The outcome is unknown.
    NoAnswer,
}

impl Failure {
    pub(in crate::kernel) fn io(e: io::Error) -> Failure {
        Failure::Io {
            errno: e.raw_os_error(),
            text: e.to_string(),
        }
    }

    pub(in crate::kernel) fn decode(e: impl fmt::Display) -> Failure {
        Failure::Decode(e.to_string())
    }

    /// The error of a read (`doing` is what was being read): nothing was changed, whatever
    /// went wrong.
    pub(in crate::kernel) fn into_read_error(self, doing: &str) -> KernelError {
        let doing = doing.to_string();
        match self {
            Failure::Refused {
                errno: libc::EPERM,
                ext_ack,
            } => KernelError::NotPermitted {
                errno: libc::EPERM,
                doing,
                reason: with_ext_ack(Unavailable::NotPermitted.help().into(), ext_ack),
            },
            Failure::Refused { errno, ext_ack } => KernelError::refusal(
                errno,
                doing,
                with_ext_ack(io::Error::from_raw_os_error(errno).to_string(), ext_ack),
            ),
            Failure::Io {
                errno: Some(errno @ (libc::EPERM | libc::EACCES)),
                text,
            } => KernelError::NotPermitted {
                errno,
                doing,
                reason: format!("the netlink socket failed: {text}"),
            },
            Failure::Io { errno, text } => KernelError::Transport {
                errno,
                doing,
                reason: format!("the netlink socket failed: {text}"),
            },
            Failure::Decode(text) => KernelError::Transport {
                errno: None,
                doing,
                reason: format!("the kernel's reply could not be read: {text}"),
            },
            Failure::Interrupted => KernelError::Transport {
                errno: Some(libc::EINTR),
                doing,
                reason: format!(
                    "the table changed during each of {DUMP_ATTEMPTS} attempts to read it; try again"
                ),
            },
            Failure::NoAnswer => KernelError::Transport {
                errno: None,
                doing,
                reason: NO_ANSWER.into(),
            },
        }
    }

    /// The error of an operation: a refusal explained for `op`, or an outcome unknown.
    pub(in crate::kernel) fn into_op_error(self, op: &Op) -> KernelError {
        let doing = op.to_string();
        match self {
            Failure::Refused { errno, ext_ack } => {
                KernelError::refusal(errno, doing, with_ext_ack(explain(op, errno), ext_ack))
            }
            Failure::Io {
                errno: Some(libc::ENOBUFS),
                text,
            } => KernelError::OutcomeUnknown {
                errno: Some(libc::ENOBUFS),
                doing,
                reason: format!(
                    "the kernel's replies overflowed the socket buffer ({text}); read the table \
                     again"
                ),
            },
            Failure::Io { errno, text } => KernelError::OutcomeUnknown {
                errno,
                doing,
                reason: format!("the netlink socket failed ({text})"),
            },
            Failure::Decode(text) => KernelError::OutcomeUnknown {
                errno: None,
                doing,
                reason: format!("the kernel's reply could not be read: {text}"),
            },
            Failure::NoAnswer => KernelError::OutcomeUnknown {
                errno: None,
                doing,
                reason: NO_ANSWER.into(),
            },
            // Only dumps are read again; an operation is never one.
            Failure::Interrupted => Failure::Interrupted.into_read_error(&doing),
        }
    }
}

const NO_ANSWER: &str = "the kernel sent no answer to the request (it sends none for one it \
    reports interrupted, like stopping a sync daemon that had not started running yet)";

fn with_ext_ack(reason: String, ext_ack: Option<String>) -> String {
    match ext_ack {
        Some(text) => format!("{reason} (the kernel says: {text})"),
        None => reason,
    }
}
