//! IPv4 addresses as glibc's `inet_aton` reads them, which is how ipvsadm reads every IPv4
//! address of a service or real server (`parse_service`: `inet_pton(AF_INET6)` first, then
//! `inet_aton`, then `gethostbyname`). inet_aton takes more than dotted decimal: a part with a
//! leading `0` is octal, `0x` hexadecimal, and with fewer than four parts the last one fills the
//! remaining bytes (`10.1` is 10.0.0.1, `167772161` is 10.0.0.1).

use std::net::Ipv4Addr;

/// Why an address read by inet_aton is not what a reader of dotted decimal would expect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Quirk {
    /// A part with a leading 0: its text, and the value it has in octal.
    Octal(String, u32),
    /// A part with a leading 0x: its text and value.
    Hex(String, u32),
    /// Fewer than four parts: how many.
    Short(usize),
}

impl Quirk {
    /// Why the address means what it means, in words.
    pub fn explain(&self) -> String {
        match self {
            Quirk::Octal(text, value) => {
                format!("a leading 0 makes a number octal: `{text}` is {value}")
            }
            Quirk::Hex(text, value) => {
                format!("a leading 0x makes a number hexadecimal: `{text}` is {value}")
            }
            Quirk::Short(1) => "a single number is the whole 32-bit address".to_string(),
            Quirk::Short(n) => format!(
                "with {n} parts instead of four, the last part fills the remaining {} bytes",
                5 - n
            ),
        }
    }
}

/// The address inet_aton reads from `text`, and what makes it differ from plain dotted
/// decimal (nothing for `10.0.0.1`); `None` where inet_aton fails.
pub(super) fn inet_aton(text: &str) -> Option<(Ipv4Addr, Vec<Quirk>)> {
    // Plain dotted decimal (four numbers up to 255, no leading zeros), nearly every address of
    // a dump: what the standard library reads, without the lists below.
    if let Ok(addr) = text.parse::<Ipv4Addr>() {
        return Some((addr, Vec::new()));
    }
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut quirks = Vec::new();
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        let (digits, radix) =
            if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
                (hex, 16)
            } else if part.len() > 1 && part.starts_with('0') {
                (&part[1..], 8)
            } else {
                (*part, 10)
            };
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        let value = digits.chars().try_fold(0u32, |acc, c| {
            acc.checked_mul(radix)?.checked_add(c.to_digit(radix)?)
        })?;
        match radix {
            16 => quirks.push(Quirk::Hex(part.to_string(), value)),
            8 => quirks.push(Quirk::Octal(part.to_string(), value)),
            _ => {}
        }
        values.push(value);
    }
    let (last, init) = values.split_last()?;
    if init.iter().any(|&v| v > 0xff) {
        return None;
    }
    let last_bits = 8 * (4 - init.len() as u32);
    if last_bits < 32 && *last >> last_bits != 0 {
        return None;
    }
    let high = init
        .iter()
        .enumerate()
        .fold(0u32, |acc, (i, &v)| acc | v << (24 - 8 * i));
    if parts.len() < 4 {
        quirks.push(Quirk::Short(parts.len()));
    }
    Some((Ipv4Addr::from(high | last), quirks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Option<Ipv4Addr> {
        inet_aton(text).map(|(a, _)| a)
    }

    #[test]
    fn reads_the_forms_glibc_reads() {
        // Each expectation is what glibc 2.36's inet_aton gives (checked with Python's
        // socket.inet_aton on Debian 12, which calls it).
        let cases = [
            ("192.168.11.010", Some("192.168.11.8")),
            ("0x0a.0.0.1", Some("10.0.0.1")),
            ("0X1.2.3.4", Some("1.2.3.4")),
            ("10.1", Some("10.0.0.1")),
            ("10.0.1", Some("10.0.0.1")),
            ("010.1", Some("8.0.0.1")),
            ("167772161", Some("10.0.0.1")),
            ("0", Some("0.0.0.0")),
            ("00.1.2.3", Some("0.1.2.3")),
            ("1.2.3.0377", Some("1.2.3.255")),
            ("1.2.65535", Some("1.2.255.255")),
            ("1.16777215", Some("1.255.255.255")),
            ("0xffffffff", Some("255.255.255.255")),
            ("0xff.0xff.0xff.0xff", Some("255.255.255.255")),
            ("1.2.3.4.", None),
            ("0x", None),
            ("08.1.1.1", None),
            ("1.2.3.09", None),
            ("1.2.3.256", None),
            ("1.2.3.0400", None),
            ("1.16777216", None),
            ("4294967296", None),
            ("99999999999999999999", None),
            ("0x100.1.1.1", None),
            ("0x.1.2.3", None),
            ("1.0x.2.3", None),
            ("00x1.1.1.1", None),
            ("1..2", None),
            (".1.2.3", None),
            ("1.2.3.4.5", None),
            ("+1.2.3.4", None),
            ("1.2.3.-4", None),
            ("", None),
            ("web1", None),
        ];
        for (text, want) in cases {
            let want = want.map(|w| w.parse::<Ipv4Addr>().unwrap());
            assert_eq!(read(text), want, "{text}");
        }
    }

    #[test]
    fn plain_dotted_decimal_has_no_quirk() {
        assert_eq!(inet_aton("10.0.0.1").unwrap().1, vec![]);
        assert_eq!(inet_aton("0.0.0.0").unwrap().1, vec![]);
        assert_eq!(
            inet_aton("192.168.11.010").unwrap().1,
            vec![Quirk::Octal("010".into(), 8)]
        );
        assert_eq!(inet_aton("10.1").unwrap().1, vec![Quirk::Short(2)]);
    }

    /// The C library is the reference: compare with it on many generated strings.
    #[test]
    fn agrees_with_the_c_library() {
        let parts = [
            "0", "1", "07", "08", "010", "0x", "0x1f", "0XfF", "255", "256", "65535",
        ];
        let mut texts = Vec::new();
        for a in parts {
            texts.push(a.to_string());
            for b in parts {
                texts.push(format!("{a}.{b}"));
                for c in parts {
                    texts.push(format!("{a}.{b}.{c}"));
                    texts.push(format!("{a}.{b}.{c}.{a}"));
                }
            }
        }
        for text in texts {
            let c_text = std::ffi::CString::new(text.clone()).unwrap();
            let mut out = libc::in_addr { s_addr: 0 };
            // SAFETY: a NUL-terminated string and a valid in_addr to write to.
            let ok = unsafe { inet_aton_c(c_text.as_ptr(), &mut out) } != 0;
            let libc_says = ok.then(|| Ipv4Addr::from(u32::from_be(out.s_addr)));
            assert_eq!(read(&text), libc_says, "{text}");
        }
    }

    extern "C" {
        #[link_name = "inet_aton"]
        fn inet_aton_c(cp: *const libc::c_char, inp: *mut libc::in_addr) -> libc::c_int;
    }
}
