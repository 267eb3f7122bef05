//! The values of ipvsadm's options: `ADDR:PORT`, firewall marks, schedulers, netmasks,
//! scheduler flags, tunnel types, daemon states.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::check::spec::{FlagSpec, NetmaskSpec, TunnelType};
use crate::check::suggest;
use crate::check::values;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{DaemonState, Protocol, SchedFlags, Scheduler};
use crate::syntax::words::{self, Kind};

use super::{aton, services};
use crate::source::{Span, Spanned};

fn sub(span: Span, from: usize, to: usize) -> Span {
    Span::new(span.file, span.start + from..span.start + to)
}

/// An address and the port after it, if any.
pub(super) type Endpoint = (Spanned<IpAddr>, Option<Spanned<u16>>);

/// `10.0.0.1:80`, `10.0.0.1`, `[2001:db8::1]:80`, `2001:db8::1`, as ipvsadm's
/// `parse_service` reads them: IPv4 addresses as inet_aton reads them (a warning says what an
/// unusual form means), port names from ipvsc's own table for `protocol` (what ipvsadm looks
/// them up for; `None` when it has none yet), host names refused.
pub(super) fn endpoint(
    text: &str,
    span: Span,
    protocol: Option<Protocol>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Endpoint, Diagnostic> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Diagnostic::error(
            Code::BadAddress,
            span,
            format!("`{text}` is not an address"),
        )
        .label("a number, not an address")
        .help("write an address and port, like 10.0.0.1:80"));
    }
    if let Some(inner) = text.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return Err(Diagnostic::error(
                Code::BadAddress,
                span,
                format!("`{text}` has no closing `]`"),
            )
            .label("unclosed bracket")
            .help("write a bracketed IPv6 address like [2001:db8::1]:80"));
        };
        let addr_text = &inner[..close];
        let addr_span = sub(span, 1, 1 + close);
        let addr = match addr_text.parse::<Ipv6Addr>() {
            Ok(a) => IpAddr::V6(a),
            Err(_) if addr_text.parse::<Ipv4Addr>().is_ok() => {
                return Err(Diagnostic::error(
                    Code::BadAddress,
                    addr_span,
                    "brackets are only for IPv6 addresses",
                )
                .label("an IPv4 address in brackets")
                .help(format!("write it without brackets, like {addr_text}:80")));
            }
            Err(_) => return Err(bad_address(addr_text, addr_span)),
        };
        let after = &inner[close + 1..];
        let Some(port_text) = after.strip_prefix(':') else {
            let what = if after.is_empty() {
                "a bracketed IPv6 address needs `:PORT` after it".to_string()
            } else {
                format!("unexpected `{after}` after the bracketed address")
            };
            return Err(Diagnostic::error(Code::BadAddress, span, what)
                .label("expected `:PORT` after `]`")
                .help(format!(
                    "write [{addr_text}]:80, or {addr_text} without brackets for no port"
                )));
        };
        let port_start = 1 + close + 2;
        let port = port(port_text, sub(span, port_start, text.len()), protocol)?;
        return Ok((Spanned::new(addr, addr_span), Some(port)));
    }
    // An IPv6 address has two colons at least (`::`, or seven): `10.0.0.1:80` is not tried.
    if text.bytes().filter(|&b| b == b':').nth(1).is_some() {
        if let Ok(a) = text.parse::<Ipv6Addr>() {
            return Ok((Spanned::new(IpAddr::V6(a), span), None));
        }
    }
    let (addr_text, port_text) = match text.rsplit_once(':') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr_span = sub(span, 0, addr_text.len());
    let addr = match aton::inet_aton(addr_text) {
        Some((a, quirks)) => {
            if !quirks.is_empty() {
                warnings.push(unusual_form(addr_text, a, &quirks, addr_span));
            }
            IpAddr::V4(a)
        }
        None if addr_text.contains(':') => {
            return Err(Diagnostic::error(
                Code::BadAddress,
                span,
                format!("`{text}` is not a valid address"),
            )
            .label("not an address")
            .help("put an IPv6 address in brackets when a port follows, like [2001:db8::1]:80"));
        }
        None => return Err(bad_address(addr_text, addr_span)),
    };
    let port = match port_text {
        Some(p) => Some(port(
            p,
            sub(span, addr_text.len() + 1, text.len()),
            protocol,
        )?),
        None => None,
    };
    Ok((Spanned::new(addr, addr_span), port))
}

fn unusual_form(text: &str, addr: Ipv4Addr, quirks: &[aton::Quirk], span: Span) -> Diagnostic {
    let why: Vec<String> = quirks.iter().map(aton::Quirk::explain).collect();
    Diagnostic::warning(
        Code::AddressForm,
        span,
        format!("{text} is read as {addr}: {}", why.join("; ")),
    )
    .label(format!("read as {addr}"))
    .help(format!(
        "write {addr}: ipvsadm reads addresses with inet_aton, which reads this form so; \
         if you meant another address, write that one"
    ))
}

fn is_host_name(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_alphabetic())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

fn bad_address(text: &str, span: Span) -> Diagnostic {
    if is_host_name(text) {
        return Diagnostic::error(
            Code::BadAddress,
            span,
            format!("`{text}` is a host name; ipvsc needs numeric addresses"),
        )
        .label("host name")
        .help(
            "save the table with `ipvsadm-save -n` (`ipvsadm -S -n`), which writes addresses \
             instead of the names reverse DNS gave; or write the IP address, like 192.168.10.1. \
             ipvsc does not resolve names, so that a file means the same on every host",
        );
    }
    if text.is_empty() {
        return Diagnostic::error(Code::BadAddress, span, "the address is missing")
            .label("no address before `:`")
            .help("write an address and port, like 10.0.0.1:80");
    }
    values::address(text, span).err().unwrap_or_else(|| {
        Diagnostic::error(
            Code::BadAddress,
            span,
            format!("`{text}` is not an IPv4 address"),
        )
        .label("not an IPv4 address")
        .help("write an IPv4 address and port, like 10.0.0.1:80")
    })
}

fn port(text: &str, span: Span, protocol: Option<Protocol>) -> Result<Spanned<u16>, Diagnostic> {
    if text.is_empty() {
        return Err(
            Diagnostic::error(Code::BadNumber, span, "the port is missing")
                .label("no port after `:`")
                .help("write the port after the colon, like 10.0.0.1:80, or leave out the colon"),
        );
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return values::port(text, span).map(|p| Spanned::new(p, span));
    }
    let Some(protocol) = protocol else {
        return Err(Diagnostic::error(
            Code::UnknownPortName,
            span,
            format!("the port name `{text}` comes before the service's protocol"),
        )
        .label("ipvsadm cannot look this name up yet")
        .help(
            "ipvsadm looks a port name up for the protocol of the service given before `-r`: \
             put `-t`, `-u`, `--sctp-service` or `-f` before `-r`, or write the port number",
        ));
    };
    if let Some(port) = services::port(text, protocol) {
        return Ok(Spanned::new(port, span));
    }
    let proto = protocol.to_string().to_uppercase();
    let mut d = Diagnostic::error(
        Code::UnknownPortName,
        span,
        format!("unknown {proto} port name `{text}`"),
    )
    .label(format!("no such {proto} port name"));
    d = match suggest::did_you_mean(text, services::names(protocol)) {
        Some(name) => d.help(format!(
            "did you mean `{name}` (port {})? Or write the port number",
            services::port(name, protocol).unwrap_or_default()
        )),
        None => d.help(format!(
            "write the port number; ipvsc knows the {proto} names of Debian's /etc/services, \
             never the host's, so that a file means the same on every host"
        )),
    };
    Err(d)
}

/// `-f MARK`: 1 to 2^32-1. ipvsadm -S prints the mark with `%d`, so a mark of 2^31 or more
/// comes out negative; such a mark reads back as the mark it stands for.
pub(super) fn fwmark(text: &str, span: Span) -> Result<u32, Diagnostic> {
    let Some(digits) = text.strip_prefix('-') else {
        let n = values::number(text, span, "the firewall mark")?;
        return values::in_range(
            Spanned::new(n, span),
            1,
            u32::MAX.into(),
            "the firewall mark",
        )
        .map(|n| n as u32);
    };
    let n = values::number(digits, span, "the firewall mark")?;
    if n == 0 || n > 1 << 31 {
        return Err(Diagnostic::error(
            Code::OutOfRange,
            span,
            format!("the firewall mark {text} is out of range"),
        )
        .label("must be 1 to 4294967295")
        .help(
            "a firewall mark is 1 to 4294967295; ipvsadm -S prints marks from 2147483648 up as \
             -2147483648 to -1",
        ));
    }
    Ok(((1u64 << 32) - n) as u32)
}

pub(super) fn scheduler(text: &str, span: Span) -> Result<Scheduler, Diagnostic> {
    text.parse().map_err(|()| {
        let names: Vec<&str> = Scheduler::ALL.iter().map(|s| s.name()).collect();
        Diagnostic::error(
            Code::UnknownScheduler,
            span,
            format!("unknown scheduler `{text}`"),
        )
        .label("no such scheduler")
        .help(suggest::help(text, &names))
    })
}

/// `-M`: a dotted IPv4 mask, or a prefix length (what ipvsadm takes for IPv6 services).
pub(super) fn netmask(text: &str, span: Span) -> Result<NetmaskSpec, Diagnostic> {
    if text.contains('.') {
        return match text.parse::<Ipv4Addr>() {
            Ok(m) => Ok(NetmaskSpec::Ipv4(m)),
            Err(_) => Err(values::address(text, span)
                .err()
                .unwrap_or_else(|| not_a_netmask(text, span))),
        };
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return values::number(text, span, "the prefix length").map(NetmaskSpec::Prefix);
    }
    Err(not_a_netmask(text, span))
}

fn not_a_netmask(text: &str, span: Span) -> Diagnostic {
    let help = if text.starts_with('/') {
        "write the prefix length without the slash, like `-M 64`"
    } else {
        "write a dotted IPv4 mask like 255.255.255.0, or an IPv6 prefix length like 64"
    };
    Diagnostic::error(Code::BadAddress, span, format!("`{text}` is not a netmask"))
        .label("not a netmask")
        .help(help)
}

const SH: &[Scheduler] = &[Scheduler::Sh];
const MH: &[Scheduler] = &[Scheduler::Mh];
const FLAGS: &[(&str, u8, &[Scheduler])] = &[
    ("sh-fallback", SchedFlags::FLAG1, SH),
    ("sh-port", SchedFlags::FLAG2, SH),
    ("mh-fallback", SchedFlags::FLAG1, MH),
    ("mh-port", SchedFlags::FLAG2, MH),
    ("flag-1", SchedFlags::FLAG1, &[]),
    ("flag-2", SchedFlags::FLAG2, &[]),
    ("flag-3", SchedFlags::FLAG3, &[]),
];

/// `-b sh-fallback,sh-port`: each flag with its own span.
pub(super) fn sched_flags(text: &str, span: Span) -> Result<Vec<Spanned<FlagSpec>>, Diagnostic> {
    let mut flags = Vec::new();
    let mut at = 0;
    for item in text.split(',') {
        let item_span = sub(span, at, at + item.len());
        at += item.len() + 1;
        if item.is_empty() {
            continue;
        }
        let Some((_, bit, only_for)) = FLAGS.iter().find(|(name, ..)| *name == item) else {
            let names: Vec<&str> = FLAGS.iter().map(|(n, ..)| *n).collect();
            return Err(Diagnostic::error(
                Code::UnknownValue,
                item_span,
                format!("unknown scheduler flag `{item}`"),
            )
            .label("no such flag")
            .help(suggest::help(item, &names)));
        };
        flags.push(Spanned::new(
            FlagSpec {
                bit: *bit,
                only_for,
            },
            item_span,
        ));
    }
    if flags.is_empty() {
        return Err(
            Diagnostic::error(Code::UnknownValue, span, "no scheduler flag given")
                .label("empty list")
                .help("list flags separated by commas, like `-b sh-fallback,sh-port`"),
        );
    }
    Ok(flags)
}

pub(super) fn tunnel_type(text: &str, span: Span) -> Result<TunnelType, Diagnostic> {
    match text {
        "ipip" => Ok(TunnelType::Ipip),
        "gue" => Ok(TunnelType::Gue),
        "gre" => Ok(TunnelType::Gre),
        _ => Err(Diagnostic::error(
            Code::UnknownValue,
            span,
            format!("unknown tunnel type `{text}`"),
        )
        .label("no such tunnel type")
        .help(suggest::help(
            text,
            &words::names_of(words::TUNNEL_WORDS, Kind::TunnelType),
        ))),
    }
}

pub(super) fn daemon_state(text: &str, span: Span) -> Result<DaemonState, Diagnostic> {
    match text {
        "master" => Ok(DaemonState::Master),
        "backup" => Ok(DaemonState::Backup),
        _ => Err(Diagnostic::error(
            Code::UnknownValue,
            span,
            format!("unknown sync daemon state `{text}`"),
        )
        .label("not master or backup")
        .help(suggest::help(text, &words::names(words::SYNC_STATES)))),
    }
}
