//! The order in which `ipvsadm -L -n` and `-S -n` list services and servers: libipvs's
//! comparators (`ipvs_cmp_services`, `ipvs_cmp_dests`) run by glibc's `qsort` over the kernel's
//! dump order.

use std::net::IpAddr;

use super::msort::glibc_msort;
use crate::model::{Family, Server, Service, ServiceKey};

/// Puts services in the order `ipvsadm -L -n` and `-S -n` list them, given in the kernel's dump
/// order: [`ipvs_cmp_services`] by [`glibc_msort`].
pub fn sort_services<T>(services: &mut [T], service: impl Fn(&T) -> &Service) {
    glibc_msort(services, |a, b| ipvs_cmp_services(service(a), service(b)));
}

/// Puts one service's servers in the order `ipvsadm -L -n` and `-S -n` list them, given in the
/// kernel's dump order: [`ipvs_cmp_dests`] by [`glibc_msort`].
pub fn sort_servers<T>(servers: &mut [T], server: impl Fn(&T) -> &Server) {
    glibc_msort(servers, |a, b| ipvs_cmp_dests(server(a), server(b)));
}
/// An address as the 16-byte `union nf_inet_addr` libipvs keeps (IPv4 in the first four bytes,
/// the rest zero), read as four `ntohl`'d 32-bit words.
fn addr_words(addr: &IpAddr) -> [u32; 4] {
    match addr {
        IpAddr::V4(a) => [u32::from(*a), 0, 0, 0],
        IpAddr::V6(a) => {
            let o = a.octets();
            std::array::from_fn(|i| {
                u32::from_be_bytes([o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3]])
            })
        }
    }
}

/// The address step of both comparators: `ntohl(a) - ntohl(b)` in unsigned 32-bit arithmetic,
/// converted to `int`; for IPv6 word by word until a difference is non-zero.
fn cmp_addr_words(a: [u32; 4], b: [u32; 4], ipv6: bool) -> i32 {
    let words = if ipv6 { 4 } else { 1 };
    a.iter()
        .zip(b.iter())
        .take(words)
        .map(|(x, y)| x.wrapping_sub(*y) as i32)
        .find(|&r| r != 0)
        .unwrap_or(0)
}

/// libipvs's `ipvs_cmp_services`: fwmark (u32, difference wrapped into an int), then address
/// family (AF_INET 2 < AF_INET6 10), protocol number, address (see [`ipvs_cmp_dests`]) and port (u16s,
/// exact int difference). libipvs zeroes protocol, address and port of a fwmark service.
/// Negative means `a` goes first. Not a total order: see [`glibc_msort`].
pub fn ipvs_cmp_services(a: &Service, b: &Service) -> i32 {
    fn fields(key: &ServiceKey) -> (u32, u16, u16, [u32; 4], u16) {
        match *key {
            ServiceKey::Inet {
                protocol,
                addr,
                port,
            } => (
                0,
                key.family().af(),
                protocol.number(),
                addr_words(&addr),
                port,
            ),
            ServiceKey::Fwmark { family, mark } => (mark, family.af(), 0, [0; 4], 0),
        }
    }
    let (mark_a, af_a, proto_a, addr_a, port_a) = fields(&a.key);
    let (mark_b, af_b, proto_b, addr_b, port_b) = fields(&b.key);

    let r = mark_a.wrapping_sub(mark_b) as i32;
    if r != 0 {
        return r;
    }
    let r = i32::from(af_a) - i32::from(af_b);
    if r != 0 {
        return r;
    }
    let r = i32::from(proto_a) - i32::from(proto_b);
    if r != 0 {
        return r;
    }
    // The word count follows the first service's family; by here both families are equal.
    let r = cmp_addr_words(addr_a, addr_b, af_a == Family::Ipv6.af());
    if r != 0 {
        return r;
    }
    i32::from(port_a) - i32::from(port_b)
}

/// libipvs's `ipvs_cmp_dests`: address (by the first server's family only, so a
/// server of the other family is compared through its first 32-bit word), then port.
pub fn ipvs_cmp_dests(a: &Server, b: &Server) -> i32 {
    let (addr_a, addr_b) = (&a.key.addr, &b.key.addr);
    let r = cmp_addr_words(addr_words(addr_a), addr_words(addr_b), addr_a.is_ipv6());
    if r != 0 {
        return r;
    }
    i32::from(a.key.port) - i32::from(b.key.port)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::model::{Forward, Protocol, ServerKey};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn server(addr: &str, port: u16, forward: Forward, weight: u32) -> Server {
        Server {
            forward,
            weight,
            ..Server::new(ServerKey {
                addr: ip(addr),
                port,
            })
        }
    }

    #[test]
    fn mixed_family_servers_compare_by_first_argument() {
        // An IPv4 server compares its address with the IPv6 server's first word only.
        let v4 = server("32.1.13.184", 80, Forward::Dr, 1); // 0x20010db8
        let v6 = server("2001:db8::1", 80, Forward::Dr, 1);
        assert_eq!(ipvs_cmp_dests(&v4, &v6), 0);
        assert_ne!(ipvs_cmp_dests(&v6, &v4), 0);
    }

    /// A sort of `addrs` (as IPv4 services) that must not panic and must be a permutation.
    fn sorted_services(addrs: &[u32]) -> Vec<u32> {
        let services: Vec<Service> = addrs
            .iter()
            .map(|&a| {
                Service::new(ServiceKey::Inet {
                    protocol: Protocol::Tcp,
                    addr: IpAddr::V4(Ipv4Addr::from(a)),
                    port: 80,
                })
            })
            .collect();
        let mut refs: Vec<&Service> = services.iter().collect();
        glibc_msort(&mut refs, |a, b| ipvs_cmp_services(a, b));
        refs.iter()
            .map(|s| match s.key {
                ServiceKey::Inet {
                    addr: IpAddr::V4(a),
                    ..
                } => u32::from(a),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn non_transitive_addresses_do_not_panic() {
        // 10.x < 100.x < 200.x < 10.x
        let cyclic = [0x0a00_0001, 0x6400_0001, 0xc800_0001];
        for perm in [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ] {
            let input: Vec<u32> = perm.iter().map(|&i| cyclic[i]).collect();
            let mut out = sorted_services(&input);
            out.sort_unstable();
            let mut sorted_in = input.clone();
            sorted_in.sort_unstable();
            assert_eq!(out, sorted_in);
        }
        // By hand: [10, 100, 200] → left [10], right [100, 200] (100 < 200: kept);
        // merge: 10 vs 100 → 10 first; then 100, 200.
        assert_eq!(
            sorted_services(&[0x0a00_0001, 0x6400_0001, 0xc800_0001]),
            [0x0a00_0001, 0x6400_0001, 0xc800_0001]
        );
        // [200, 10, 100] → left [200], right [10, 100]; 200 vs 10: 200 first (wraps);
        // then 10, 100.
        assert_eq!(
            sorted_services(&[0xc800_0001, 0x0a00_0001, 0x6400_0001]),
            [0xc800_0001, 0x0a00_0001, 0x6400_0001]
        );

        // Many addresses over the whole space, in a scrambled order.
        let mut x: u32 = 0x1234_5678;
        let many: Vec<u32> = (0..1000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x
            })
            .collect();
        let mut out = sorted_services(&many);
        out.sort_unstable();
        let mut expected = many.clone();
        expected.sort_unstable();
        assert_eq!(out, expected);
    }
}
