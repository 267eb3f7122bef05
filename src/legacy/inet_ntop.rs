//! How ipvsadm spells an address: glibc's `inet_ntop`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// glibc's `inet_ntop`. IPv4 is plain dotted decimal; IPv6 follows glibc's `inet_ntop6`, which
/// differs from Rust's `Display` for IPv4-compatible addresses (`::1.2.3.4`, but `::1`).
pub fn inet_ntop(addr: &IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => inet_ntop6(a),
    }
}

fn inet_ntop6(addr: &Ipv6Addr) -> String {
    let words = addr.segments();

    // The first longest run of zero words, if at least two long.
    let mut best: Option<(usize, usize)> = None;
    let mut cur: Option<(usize, usize)> = None;
    let close = |run: (usize, usize), best: &mut Option<(usize, usize)>| {
        if !matches!(*best, Some((_, len)) if len >= run.1) {
            *best = Some(run);
        }
    };
    for (i, &w) in words.iter().enumerate() {
        if w == 0 {
            cur = Some(match cur {
                None => (i, 1),
                Some((base, len)) => (base, len + 1),
            });
        } else if let Some(run) = cur.take() {
            close(run, &mut best);
        }
    }
    if let Some(run) = cur {
        close(run, &mut best);
    }
    let best = best.filter(|&(_, len)| len >= 2);

    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if let Some((base, len)) = best {
            if i >= base && i < base + len {
                if i == base {
                    out.push(':');
                }
                i += 1;
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        // An IPv4-compatible (::a.b.c.d) or IPv4-mapped (::ffff:a.b.c.d) address.
        let embedded_v4 = best == Some((0, 6)) || (best == Some((0, 5)) && words[5] == 0xffff);
        if i == 6 && embedded_v4 {
            let o = addr.octets();
            let _ = write!(out, "{}", Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            return out;
        }
        let _ = write!(out, "{:x}", words[i]);
        i += 1;
    }
    if let Some((base, len)) = best {
        if base + len == 8 {
            out.push(':');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_text_is_glibc_inet_ntop() {
        let cases = [
            ("::", "::"),
            ("::1", "::1"),
            ("::2", "::2"),
            ("::1:2", "::0.1.0.2"),
            ("::102:304", "::1.2.3.4"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::ffff:0:0", "::ffff:0.0.0.0"),
            ("::ffff:0:1", "::ffff:0.0.0.1"),
            ("::1:0:0", "::1:0:0"),
            ("1::", "1::"),
            ("2001:db8::1", "2001:db8::1"),
            ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
            ("2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1"),
            ("1:0:1:1:1:1:1:1", "1:0:1:1:1:1:1:1"),
            ("fe80::ab:cdef", "fe80::ab:cdef"),
            ("0:0:0:0:1:ffff:102:304", "::1:ffff:102:304"),
        ];
        for (input, expected) in cases {
            let a: Ipv6Addr = input.parse().unwrap();
            assert_eq!(inet_ntop6(&a), expected, "{input}");
        }
    }
}
