//! Typing of literal text shared by both front ends: numbers, ports, durations, addresses.

use std::net::IpAddr;

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Span, Spanned};

/// A decimal number; one too large for u64 is reported as out of range.
pub fn number(text: &str, span: Span, what: &str) -> Result<u64, Diagnostic> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            Diagnostic::error(Code::BadNumber, span, format!("{what} must be a number"))
                .label("not a number")
                .help(format!("write {what} in decimal digits, like 10")),
        );
    }
    text.parse().map_err(|_| {
        Diagnostic::error(Code::OutOfRange, span, format!("{what} is far too large"))
            .label("too large")
    })
}

/// Checks `min <= value <= max`.
pub fn in_range(value: Spanned<u64>, min: u64, max: u64, what: &str) -> Result<u64, Diagnostic> {
    if value.value < min || value.value > max {
        return Err(Diagnostic::error(
            Code::OutOfRange,
            value.span,
            format!("{what} {} is out of range", value.value),
        )
        .label(format!("must be {min} to {max}"))
        .help(format!("{what} must be between {min} and {max}")));
    }
    Ok(value.value)
}

pub fn port(text: &str, span: Span) -> Result<u16, Diagnostic> {
    let n = number(text, span, "a port")?;
    in_range(Spanned::new(n, span), 0, 65535, "port").map(|p| p as u16)
}

const UNITS: &[(&str, u64)] = &[("s", 1), ("m", 60), ("h", 3600), ("d", 86400)];

/// `90`, `90s`, `15m`, `1h`, `2d`: seconds.
pub fn duration(text: &str, span: Span) -> Result<u64, Diagnostic> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = text.split_at(digits);
    let n = number(num, span, "a duration")?;
    let scale = if unit.is_empty() {
        1
    } else {
        match UNITS.iter().find(|(u, _)| *u == unit) {
            Some((_, s)) => *s,
            None => {
                let help: String = match unit {
                    "sec" | "secs" | "second" | "seconds" => {
                        "write seconds as `s`, like 90s".into()
                    }
                    "min" | "mins" | "minute" | "minutes" => {
                        "write minutes as `m`, like 15m".into()
                    }
                    "hour" | "hours" | "hr" => "write hours as `h`, like 1h".into(),
                    "day" | "days" => "write days as `d`, like 2d".into(),
                    _ => "use s (seconds), m (minutes), h (hours) or d (days), like 15m".into(),
                };
                return Err(Diagnostic::error(
                    Code::BadDuration,
                    span,
                    format!("unknown time unit `{unit}`"),
                )
                .label("unknown unit")
                .help(help));
            }
        }
    };
    n.checked_mul(scale).ok_or_else(|| {
        Diagnostic::error(Code::OutOfRange, span, "the duration is far too long").label("too long")
    })
}

/// An IPv4 or IPv6 address in numeric form.
pub fn address(text: &str, span: Span) -> Result<IpAddr, Diagnostic> {
    text.parse().map_err(|_| {
        let v4 = text.contains('.') && !text.contains(':');
        let (what, help) = if v4 {
            let bad = text.split('.').find(|o| o.parse::<u8>().is_err());
            match bad {
                Some(o) => (
                    "not a valid IPv4 address".to_string(),
                    format!("each of the four parts is 0 to 255; `{o}` is not"),
                ),
                None => (
                    "not a valid IPv4 address".to_string(),
                    "write it as four numbers 0 to 255, like 192.168.10.1".to_string(),
                ),
            }
        } else {
            (
                "not a valid IPv6 address".to_string(),
                "write it like 2001:db8::1; put it in brackets when a port follows: [2001:db8::1]:80"
                    .to_string(),
            )
        };
        Diagnostic::error(Code::BadAddress, span, format!("`{text}` is {what}"))
            .label(what)
            .help(help)
    })
}

/// The most addresses one range may expand to.
pub const MAX_RANGE: u128 = 65_536;

/// The addresses from `first` to `last`, inclusive.
pub fn range(first: IpAddr, last: IpAddr, span: Span) -> Result<Vec<IpAddr>, Diagnostic> {
    let err = |msg: String, help: &str| {
        Err(Diagnostic::error(Code::AddressRange, span, msg)
            .label("this range")
            .help(help.to_string()))
    };
    // Both families as 128-bit numbers, and the way back to an address.
    let (a, b, make): (u128, u128, fn(u128) -> IpAddr) = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a).into(), u32::from(b).into(), |x| {
            IpAddr::V4((x as u32).into())
        }),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.into(), b.into(), |x| IpAddr::V6(x.into())),
        _ => {
            return err(
                format!("the range {first}-{last} mixes IPv4 and IPv6"),
                "both ends of a range must be of one address family",
            )
        }
    };
    if a > b {
        return err(
            format!("the range {first}-{last} runs backwards"),
            "write the lower address first",
        );
    }
    if b - a >= MAX_RANGE {
        return err(
            format!("the range {first}-{last} has more than {MAX_RANGE} addresses"),
            "split it, or use a firewall-mark service",
        );
    }
    Ok((a..=b).map(make).collect())
}

/// Whether an address can be a real server: not unspecified, broadcast or multicast.
pub fn is_unicast(addr: &IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_broadcast() || a.is_multicast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    const S: Span = Span {
        file: FileId(0),
        start: 0,
        end: 1,
    };

    #[test]
    fn durations() {
        assert_eq!(duration("90", S).unwrap(), 90);
        assert_eq!(duration("15m", S).unwrap(), 900);
        assert_eq!(duration("2d", S).unwrap(), 172_800);
        assert_eq!(duration("5x", S).unwrap_err().code, Code::BadDuration);
    }

    #[test]
    fn ranges() {
        let a: IpAddr = "10.0.0.254".parse().unwrap();
        let b: IpAddr = "10.0.1.1".parse().unwrap();
        assert_eq!(range(a, b, S).unwrap().len(), 4);
        assert!(range(b, a, S).is_err());
    }
}
