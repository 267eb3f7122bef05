//! Hand-written messages laid out from `include/uapi/linux/ip_vs.h` and the order in which
//! `net/netfilter/ipvs/ip_vs_ctl.c` fills them, parsed and emitted again; and round trips of
//! every request and every model variant. The byte vectors assume a little-endian host.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DefaultNla, Emitable, ParseableParametrized, NLA_F_NESTED};
use netlink_packet_generic::{GenlHeader, GenlMessage};

use super::*;
use crate::kernel::Op;
use crate::model::*;

/// Bytes captured from a real kernel (x86-64), parsed and emitted again.
#[cfg(target_endian = "little")]
#[path = "captured.rs"]
mod captured;

/// The genl payload (genl header + attributes) of `msg`, as it goes on the wire.
fn genl_bytes(msg: &IpvsMessage) -> Vec<u8> {
    let genl = GenlMessage::from_payload(msg.clone());
    let mut buf = vec![0; genl.buffer_len()];
    genl.emit(&mut buf);
    buf
}

fn roundtrip(msg: &IpvsMessage) -> IpvsMessage {
    let bytes = genl_bytes(msg);
    assert_eq!(bytes.len() % 4, 0);
    parse_genl(&bytes).unwrap()
}

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse::<Ipv4Addr>().unwrap())
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Inet {
        protocol: Protocol::Tcp,
        addr: addr.parse().unwrap(),
        port,
    }
}

// ---- hand-written vectors ------------------------------------------------------------------

/// `ipvsadm -A -t 10.0.0.1:80 -s rr`: NEW_SERVICE with the full service nest, as a whole
/// netlink message (family id 0x1c, NLM_F_REQUEST | NLM_F_ACK, sequence 1).
#[rustfmt::skip]
const NEW_SERVICE_TCP: [u8; 104] = [
    0x68, 0x00, 0x00, 0x00, // nlmsg_len 104
    0x1c, 0x00,             // nlmsg_type: the IPVS family
    0x05, 0x00,             // NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // seq 1
    0x00, 0x00, 0x00, 0x00, // port id
    0x01, 0x01, 0x00, 0x00, // genl: cmd IPVS_CMD_NEW_SERVICE, version 1
    0x54, 0x00, 0x01, 0x00, // IPVS_CMD_ATTR_SERVICE, 84 bytes, no NLA_F_NESTED
    0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, // AF = AF_INET (+2 pad)
    0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, // PROTOCOL = IPPROTO_TCP
    0x14, 0x00, 0x03, 0x00, // ADDR, 16 bytes: 10.0.0.1 then zeros
    0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00, // PORT = 80, big-endian
    0x07, 0x00, 0x06, 0x00, b'r', b'r', 0x00, 0x00, // SCHED_NAME "rr\0"
    0x0c, 0x00, 0x07, 0x00, // FLAGS: struct ip_vs_flags
    0x00, 0x00, 0x00, 0x00, //   flags 0
    0x3d, 0x00, 0x00, 0x00, //   mask PERSISTENT|ONEPACKET|SCHED1|SCHED2|SCHED3
    0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, // TIMEOUT 0: not persistent
    0x08, 0x00, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, // NETMASK 255.255.255.255
];

#[test]
fn new_service_request_bytes() {
    let msg = new_service(&Service {
        scheduler: Scheduler::Rr,
        ..Service::new(tcp("10.0.0.1", 80))
    });
    let bytes = serialize(msg.clone(), 0x1c, 0x05, 1);
    assert_eq!(bytes, NEW_SERVICE_TCP);
    assert_eq!(parse_genl(&NEW_SERVICE_TCP[16..]).unwrap(), msg);
}

/// `ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 3`: NEW_DEST, genl payload.
#[rustfmt::skip]
const NEW_DEST_NAT: [u8; 124] = [
    0x05, 0x01, 0x00, 0x00, // genl: cmd IPVS_CMD_NEW_DEST, version 1
    0x30, 0x00, 0x01, 0x00, // IPVS_CMD_ATTR_SERVICE, 48 bytes: the identity only
    0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, // AF_INET
    0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, // IPPROTO_TCP
    0x14, 0x00, 0x03, 0x00,
    0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00, // port 80
    0x48, 0x00, 0x02, 0x00, // IPVS_CMD_ATTR_DEST, 72 bytes
    0x14, 0x00, 0x01, 0x00, // DEST ADDR 10.0.0.2
    0x0a, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x06, 0x00, 0x02, 0x00, 0x1f, 0x90, 0x00, 0x00, // PORT 8080, big-endian
    0x08, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, // FWD_METHOD IP_VS_CONN_F_MASQ
    0x08, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00, 0x00, // WEIGHT 3
    0x08, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, // U_THRESH 0
    0x08, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, // L_THRESH 0
    0x06, 0x00, 0x0b, 0x00, 0x02, 0x00, 0x00, 0x00, // ADDR_FAMILY AF_INET
];

#[test]
fn new_dest_request_bytes() {
    let server = Server {
        forward: Forward::Nat,
        weight: 3,
        ..Server::new(ServerKey {
            addr: v4("10.0.0.2"),
            port: 8080,
        })
    };
    let msg = new_dest(&tcp("10.0.0.1", 80), &server);
    assert_eq!(genl_bytes(&msg), NEW_DEST_NAT);
    let parsed = parse_genl(&NEW_DEST_NAT).unwrap();
    assert_eq!(parsed, msg);
    assert_eq!(
        server_from_attrs(parsed.dest().unwrap(), Family::Ipv4).unwrap(),
        server
    );
}

/// A NEW_SERVICE message of the GET_SERVICE dump behind `ipvsadm -L -n --stats`, for a service
/// made by `ipvsadm -A -f 7 -6 -s sh -b sh-port -p 600 -M 64`, in the order
/// ip_vs_genl_fill_service puts it. The SERVICE nest carries NLA_F_NESTED, which the kernel
/// does not set but a parser must accept.
#[rustfmt::skip]
const SERVICE_REPLY_FWMARK6: [u8; 276] = [
    0x01, 0x01, 0x00, 0x00, // genl: cmd IPVS_CMD_NEW_SERVICE, version 1
    0x10, 0x01, 0x01, 0x80, // IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED, 272 bytes
    0x06, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x00, // AF = AF_INET6
    0x08, 0x00, 0x05, 0x00, 0x07, 0x00, 0x00, 0x00, // FWMARK 7
    0x07, 0x00, 0x06, 0x00, b's', b'h', 0x00, 0x00, // SCHED_NAME "sh"
    0x0c, 0x00, 0x07, 0x00, // FLAGS
    0x13, 0x00, 0x00, 0x00, //   PERSISTENT | HASHED | SCHED2 (sh-port)
    0xff, 0xff, 0xff, 0xff, //   mask ~0
    0x08, 0x00, 0x08, 0x00, 0x58, 0x02, 0x00, 0x00, // TIMEOUT 600
    0x08, 0x00, 0x09, 0x00, 0x40, 0x00, 0x00, 0x00, // NETMASK: prefix length 64
    0x5c, 0x00, 0x0a, 0x00, // STATS, 92 bytes: 32-bit counters, 64-bit byte counts
    0x08, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, //   CONNS 5 (truncated)
    0x08, 0x00, 0x02, 0x00, 0x64, 0x00, 0x00, 0x00, //   INPKTS 100
    0x08, 0x00, 0x03, 0x00, 0x5a, 0x00, 0x00, 0x00, //   OUTPKTS 90
    0x0c, 0x00, 0x04, 0x00, 0x70, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // INBYTES 6000
    0x0c, 0x00, 0x05, 0x00, 0x88, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // OUTBYTES 5000
    0x08, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, //   CPS 1
    0x08, 0x00, 0x07, 0x00, 0x02, 0x00, 0x00, 0x00, //   INPPS 2
    0x08, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00, //   OUTPPS 3
    0x08, 0x00, 0x09, 0x00, 0x04, 0x00, 0x00, 0x00, //   INBPS 4
    0x08, 0x00, 0x0a, 0x00, 0x05, 0x00, 0x00, 0x00, //   OUTBPS 5
    0x7c, 0x00, 0x0c, 0x00, // STATS64, 124 bytes: every counter 64-bit
    0x0c, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // CONNS 2^32+5
    0x0c, 0x00, 0x02, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0c, 0x00, 0x03, 0x00, 0x5a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0c, 0x00, 0x04, 0x00, 0x70, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0c, 0x00, 0x05, 0x00, 0x88, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0c, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0c, 0x00, 0x07, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0c, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0c, 0x00, 0x09, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0c, 0x00, 0x0a, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

#[test]
fn service_reply_bytes() {
    let msg = parse_genl(&SERVICE_REPLY_FWMARK6).unwrap();
    assert_eq!(msg.cmd, IpvsCmd::NewService);
    let (service, stats) = parse_service_reply(&msg).unwrap();
    assert_eq!(
        service,
        Service {
            key: ServiceKey::Fwmark {
                family: Family::Ipv6,
                mark: 7
            },
            scheduler: Scheduler::Sh,
            flags: SchedFlags(SchedFlags::FLAG2),
            persistence: Some(600),
            netmask: Netmask::Ipv6(64),
            pe: None,
            one_packet: false,
            servers: Default::default(),
        }
    );
    assert_eq!(
        stats,
        Stats {
            conns: (1 << 32) + 5,
            inpkts: 100,
            outpkts: 90,
            inbytes: 6000,
            outbytes: 5000,
            cps: 1,
            inpps: 2,
            outpps: 3,
            inbps: 4,
            outbps: 5,
        }
    );
    // Emitted again byte for byte, except that nests go out without NLA_F_NESTED.
    let mut expected = SERVICE_REPLY_FWMARK6.to_vec();
    expected[7] &= !((NLA_F_NESTED >> 8) as u8);
    assert_eq!(genl_bytes(&msg), expected);
}

/// A NEW_DEST message of the GET_DEST dump behind `ipvsadm -L -n` for a server made by
/// `ipvsadm -a -t 10.0.0.1:80 -r 192.168.1.2:80 -i --tun-type gue --tun-port 6080 --tun-csum
/// -w 2 -x 100 -y 10`, in ip_vs_genl_fill_dest's order; STATS64 left out to check that the
/// 32-bit STATS are read when it is missing.
#[rustfmt::skip]
const DEST_REPLY_GUE: [u8; 216] = [
    0x05, 0x01, 0x00, 0x00, // genl: cmd IPVS_CMD_NEW_DEST, version 1
    0xd4, 0x00, 0x02, 0x00, // IPVS_CMD_ATTR_DEST, 212 bytes
    0x14, 0x00, 0x01, 0x00, // ADDR 192.168.1.2
    0xc0, 0xa8, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x06, 0x00, 0x02, 0x00, 0x00, 0x50, 0x00, 0x00, // PORT 80
    0x08, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00, // FWD_METHOD IP_VS_CONN_F_TUNNEL
    0x08, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00, // WEIGHT 2
    0x05, 0x00, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x00, // TUN_TYPE GUE (u8 + 3 pad)
    0x06, 0x00, 0x0e, 0x00, 0x17, 0xc0, 0x00, 0x00, // TUN_PORT 6080, big-endian
    0x06, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x00, // TUN_FLAGS CSUM
    0x08, 0x00, 0x05, 0x00, 0x64, 0x00, 0x00, 0x00, // U_THRESH 100
    0x08, 0x00, 0x06, 0x00, 0x0a, 0x00, 0x00, 0x00, // L_THRESH 10
    0x08, 0x00, 0x07, 0x00, 0x03, 0x00, 0x00, 0x00, // ACTIVE_CONNS 3
    0x08, 0x00, 0x08, 0x00, 0x04, 0x00, 0x00, 0x00, // INACT_CONNS 4
    0x08, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, // PERSIST_CONNS 0
    0x06, 0x00, 0x0b, 0x00, 0x02, 0x00, 0x00, 0x00, // ADDR_FAMILY AF_INET
    0x5c, 0x00, 0x0a, 0x00, // STATS, 92 bytes
    0x08, 0x00, 0x01, 0x00, 0x07, 0x00, 0x00, 0x00, //   CONNS 7
    0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0c, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // INBYTES 2^32
    0x0c, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00,
];

#[test]
fn dest_reply_bytes() {
    let msg = parse_genl(&DEST_REPLY_GUE).unwrap();
    let (server, counters) = parse_dest_reply(&msg, Family::Ipv4).unwrap();
    assert_eq!(
        server,
        Server {
            key: ServerKey {
                addr: v4("192.168.1.2"),
                port: 80
            },
            forward: Forward::Tunnel(Tunnel::Gue {
                port: 6080,
                checksum: Checksum::Csum
            }),
            weight: 2,
            upper: 100,
            lower: 10,
        }
    );
    assert_eq!(counters.active_conns, 3);
    assert_eq!(counters.inactive_conns, 4);
    assert_eq!(counters.persistent_conns, 0);
    assert_eq!(counters.stats.conns, 7);
    assert_eq!(counters.stats.inbytes, 1 << 32);
    assert_eq!(genl_bytes(&msg), DEST_REPLY_GUE);
}

/// The SET_INFO reply to GET_INFO, the first line of `ipvsadm -L -n`:
/// "IP Virtual Server version 1.2.1 (size=4096)". Attribute 1 is VERSION here, not SERVICE.
#[rustfmt::skip]
const INFO_REPLY: [u8; 20] = [
    0x0e, 0x01, 0x00, 0x00, // genl: cmd IPVS_CMD_SET_INFO, version 1
    0x08, 0x00, 0x01, 0x00, 0x01, 0x02, 0x01, 0x00, // IPVS_INFO_ATTR_VERSION 0x010201
    0x08, 0x00, 0x02, 0x00, 0x00, 0x10, 0x00, 0x00, // IPVS_INFO_ATTR_CONN_TAB_SIZE 4096
];

#[test]
fn info_reply_bytes() {
    let msg = parse_genl(&INFO_REPLY).unwrap();
    assert_eq!(
        msg.attrs,
        vec![
            IpvsAttr::Info(InfoAttr::Version(0x010201)),
            IpvsAttr::Info(InfoAttr::ConnTabSize(4096))
        ]
    );
    let info = parse_info_reply(&msg).unwrap();
    assert_eq!(info.version_string(), "1.2.1");
    assert_eq!(info.conn_tab_size, 4096);
    assert_eq!(genl_bytes(&msg), INFO_REPLY);
}

/// The SET_CONFIG reply to GET_CONFIG, `ipvsadm -L --timeout`:
/// "Timeout (tcp tcpfin udp): 900 120 300".
#[rustfmt::skip]
const CONFIG_REPLY: [u8; 28] = [
    0x0c, 0x01, 0x00, 0x00, // genl: cmd IPVS_CMD_SET_CONFIG, version 1
    0x08, 0x00, 0x04, 0x00, 0x84, 0x03, 0x00, 0x00, // TIMEOUT_TCP 900
    0x08, 0x00, 0x05, 0x00, 0x78, 0x00, 0x00, 0x00, // TIMEOUT_TCP_FIN 120
    0x08, 0x00, 0x06, 0x00, 0x2c, 0x01, 0x00, 0x00, // TIMEOUT_UDP 300
];

#[test]
fn config_reply_bytes() {
    let msg = parse_genl(&CONFIG_REPLY).unwrap();
    assert_eq!(parse_config_reply(&msg), Timeouts::KERNEL_DEFAULT);
    assert_eq!(genl_bytes(&msg), CONFIG_REPLY);
    // `ipvsadm --set 900 120 300` sends the same attributes under SET_CONFIG.
    assert_eq!(
        genl_bytes(&set_config(&Timeouts::KERNEL_DEFAULT)),
        CONFIG_REPLY
    );
}

/// A NEW_DAEMON message of the GET_DAEMON dump behind `ipvsadm -L --daemon`, after
/// `ipvsadm --start-daemon master --mcast-interface eth0 --syncid 5`: the kernel reports the
/// defaults it filled in (maxlen 1472, port 8848 in host order, TTL 1, group 224.0.0.81).
#[rustfmt::skip]
const DAEMON_REPLY: [u8; 68] = [
    0x09, 0x01, 0x00, 0x00, // genl: cmd IPVS_CMD_NEW_DAEMON, version 1
    0x40, 0x00, 0x03, 0x00, // IPVS_CMD_ATTR_DAEMON, 64 bytes
    0x08, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, // STATE IP_VS_STATE_MASTER
    0x09, 0x00, 0x02, 0x00, b'e', b't', b'h', b'0', 0x00, 0x00, 0x00, 0x00, // MCAST_IFN "eth0"
    0x08, 0x00, 0x03, 0x00, 0x05, 0x00, 0x00, 0x00, // SYNC_ID 5
    0x06, 0x00, 0x04, 0x00, 0xc0, 0x05, 0x00, 0x00, // SYNC_MAXLEN 1472
    0x06, 0x00, 0x07, 0x00, 0x90, 0x22, 0x00, 0x00, // MCAST_PORT 8848
    0x05, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, // MCAST_TTL 1
    0x08, 0x00, 0x05, 0x00, 0xe0, 0x00, 0x00, 0x51, // MCAST_GROUP 224.0.0.81
];

#[test]
fn daemon_reply_bytes() {
    let msg = parse_genl(&DAEMON_REPLY).unwrap();
    assert_eq!(
        parse_daemon_reply(&msg).unwrap(),
        Daemon {
            state: DaemonState::Master,
            interface: "eth0".into(),
            syncid: 5,
            maxlen: Some(1472),
            group: Some(v4("224.0.0.81")),
            port: Some(8848),
            ttl: Some(1),
        }
    );
    assert_eq!(genl_bytes(&msg), DAEMON_REPLY);
}

/// `ipvsadm -Z`, `ipvsadm -C` and the dump requests: a genl header and nothing else.
#[test]
fn bare_requests_bytes() {
    assert_eq!(genl_bytes(&zero(None)), [0x10, 0x01, 0x00, 0x00]);
    assert_eq!(genl_bytes(&flush()), [0x11, 0x01, 0x00, 0x00]);
    assert_eq!(genl_bytes(&get_services()), [0x04, 0x01, 0x00, 0x00]);
    assert_eq!(genl_bytes(&get_daemons()), [0x0b, 0x01, 0x00, 0x00]);
    assert_eq!(genl_bytes(&get_config()), [0x0d, 0x01, 0x00, 0x00]);
    assert_eq!(genl_bytes(&get_info()), [0x0f, 0x01, 0x00, 0x00]);
    // `ipvsadm --stop-daemon backup`: the state alone.
    #[rustfmt::skip]
    let stop = [
        0x0a, 0x01, 0x00, 0x00,
        0x0c, 0x00, 0x03, 0x00,
        0x08, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,
    ];
    assert_eq!(genl_bytes(&del_daemon(DaemonState::Backup)), stop);
}

/// Stats as a kernel on an architecture without efficient unaligned access sends them: an
/// empty PAD attribute before each 64-bit value.
#[test]
fn stats_with_padding() {
    #[rustfmt::skip]
    let nest = [
        0x08, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, // CONNS 2
        0x04, 0x00, 0x0b, 0x00,                         // PAD
        0x0c, 0x00, 0x04, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // INBYTES 9
    ];
    let attrs: Vec<StatsAttr> = super::parse_nested(&nest).unwrap();
    assert_eq!(
        attrs,
        vec![
            StatsAttr::Conns(Counter::U32(2)),
            StatsAttr::Pad,
            StatsAttr::Inbytes(Counter::U64(9))
        ]
    );
    let stats = Stats::from_attrs(&attrs);
    assert_eq!((stats.conns, stats.inbytes), (2, 9));
    let mut out = vec![0; attrs.as_slice().buffer_len()];
    attrs.as_slice().emit(&mut out);
    assert_eq!(out, nest);
}

// ---- unknown attributes --------------------------------------------------------------------

#[test]
fn unknown_attributes_survive_a_round_trip() {
    #[rustfmt::skip]
    let bytes = [
        0x01, 0x01, 0x00, 0x00, // NEW_SERVICE
        0x28, 0x00, 0x01, 0x00, // SERVICE, 40 bytes
        0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, // AF_INET
        0x08, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, // FWMARK 1
        0x07, 0x00, 0x2a, 0x00, 0xaa, 0xbb, 0xcc, 0x00, // attribute 42, 3 bytes
        0x0c, 0x00, 0x2b, 0x80, // attribute 43, a nest flagged NLA_F_NESTED
        0x08, 0x00, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04,
        0x08, 0x00, 0x63, 0x00, 0x11, 0x22, 0x33, 0x44, // top-level attribute 99
    ];
    let msg = parse_genl(&bytes).unwrap();
    let svc = msg.service().unwrap();
    assert_eq!(
        svc[2],
        SvcAttr::Other(DefaultNla::new(42, vec![0xaa, 0xbb, 0xcc]))
    );
    assert_eq!(
        svc[3],
        SvcAttr::Other(DefaultNla::new(
            43 | NLA_F_NESTED,
            vec![0x08, 0x00, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04]
        ))
    );
    assert_eq!(
        msg.attrs[1],
        IpvsAttr::Other(DefaultNla::new(99, vec![0x11, 0x22, 0x33, 0x44]))
    );
    assert_eq!(genl_bytes(&msg), bytes);

    // And in every other nest.
    let other = |k: u16| DefaultNla::new(k, vec![1, 2, 3, 4, 5]);
    let msg = IpvsMessage::new(
        IpvsCmd::NewDest,
        vec![
            IpvsAttr::Dest(vec![
                DestAttr::Other(other(77)),
                DestAttr::Stats(vec![StatsAttr::Other(other(50))]),
            ]),
            IpvsAttr::Daemon(vec![DaemonAttr::Other(other(60))]),
        ],
    );
    assert_eq!(roundtrip(&msg), msg);
    let info = IpvsMessage::new(
        IpvsCmd::SetInfo,
        vec![IpvsAttr::Info(InfoAttr::Other(other(9)))],
    );
    assert_eq!(roundtrip(&info), info);
}

// ---- every message kind and every model variant --------------------------------------------

fn services() -> Vec<Service> {
    let base = |key: ServiceKey| Service::new(key);
    vec![
        base(tcp("10.0.0.1", 80)),
        Service {
            scheduler: Scheduler::Wrr,
            persistence: Some(360),
            netmask: Netmask::Ipv4(Ipv4Addr::new(255, 255, 255, 0)),
            ..base(ServiceKey::Inet {
                protocol: Protocol::Udp,
                addr: v4("192.0.2.9"),
                port: 53,
            })
        },
        Service {
            scheduler: Scheduler::Mh,
            flags: SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2),
            ..base(ServiceKey::Inet {
                protocol: Protocol::Sctp,
                addr: v6("2001:db8::1"),
                port: 3868,
            })
        },
        Service {
            scheduler: Scheduler::Sh,
            flags: SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2 | SchedFlags::FLAG3),
            persistence: Some(2_678_400),
            netmask: Netmask::Ipv6(48),
            pe: Some("sip".into()),
            ..base(ServiceKey::Inet {
                protocol: Protocol::Udp,
                addr: v6("2001:db8::5060"),
                port: 5060,
            })
        },
        Service {
            one_packet: true,
            ..base(ServiceKey::Fwmark {
                family: Family::Ipv4,
                mark: 1,
            })
        },
        Service {
            scheduler: Scheduler::Twos,
            persistence: Some(1),
            netmask: Netmask::Ipv6(1),
            ..base(ServiceKey::Fwmark {
                family: Family::Ipv6,
                mark: u32::MAX,
            })
        },
        Service {
            key: tcp("0.0.0.0", 0),
            persistence: Some(60),
            pe: Some("sip".into()),
            ..base(tcp("0.0.0.0", 0))
        },
    ]
}

fn servers() -> Vec<Server> {
    let key = |addr: IpAddr, port| ServerKey { addr, port };
    let mut out = Vec::new();
    let tunnels = [
        Tunnel::Ipip,
        Tunnel::Gue {
            port: 6080,
            checksum: Checksum::NoCsum,
        },
        Tunnel::Gue {
            port: 1,
            checksum: Checksum::Csum,
        },
        Tunnel::Gue {
            port: 65535,
            checksum: Checksum::RemCsum,
        },
        Tunnel::Gre {
            checksum: Checksum::NoCsum,
        },
        Tunnel::Gre {
            checksum: Checksum::Csum,
        },
    ];
    let forwards = [Forward::Dr, Forward::Nat]
        .into_iter()
        .chain(tunnels.into_iter().map(Forward::Tunnel));
    for (i, forward) in forwards.enumerate() {
        for addr in [v4("10.1.2.3"), v6("2001:db8::42")] {
            out.push(Server {
                key: key(addr, 8000 + i as u16),
                forward,
                weight: i as u32 * 1000,
                upper: 0,
                lower: 0,
            });
        }
    }
    out.push(Server {
        key: key(v4("10.9.9.9"), 0),
        forward: Forward::Dr,
        weight: 65535,
        upper: i32::MAX as u32,
        lower: 7,
    });
    out
}

fn daemons() -> Vec<Daemon> {
    vec![
        Daemon {
            state: DaemonState::Master,
            interface: "eth0".into(),
            syncid: 0,
            maxlen: None,
            group: None,
            port: None,
            ttl: None,
        },
        Daemon {
            state: DaemonState::Backup,
            interface: "bond0.100".into(),
            syncid: 255,
            maxlen: Some(65507),
            group: Some(v4("239.1.2.3")),
            port: Some(1),
            ttl: Some(255),
        },
        Daemon {
            state: DaemonState::Master,
            interface: "lo".into(),
            syncid: 9,
            maxlen: Some(1024),
            group: Some(v6("ff02::1:2")),
            port: Some(65535),
            ttl: Some(1),
        },
    ]
}

fn timeouts() -> Vec<Timeouts> {
    vec![
        Timeouts::default(),
        Timeouts::KERNEL_DEFAULT,
        Timeouts {
            tcp: Some(1),
            tcpfin: None,
            udp: Some(2_678_400),
        },
        Timeouts {
            tcp: None,
            tcpfin: Some(0),
            udp: None,
        },
    ]
}

#[test]
fn services_round_trip() {
    for service in services() {
        let attrs = service_to_attrs(&service);
        assert_eq!(service_from_attrs(&attrs).unwrap(), service, "{attrs:?}");
        for msg in [new_service(&service), set_service(&service)] {
            let back = roundtrip(&msg);
            assert_eq!(back, msg);
            assert_eq!(parse_service_reply(&back).unwrap().0, service);
        }
        let key_only = service_key_to_attrs(&service.key);
        for msg in [
            del_service(&service.key),
            zero(Some(&service.key)),
            get_dests(&service.key),
        ] {
            let back = roundtrip(&msg);
            assert_eq!(back, msg);
            assert_eq!(back.service().unwrap(), key_only.as_slice());
        }
    }
}

#[test]
fn servers_round_trip() {
    let svc = tcp("10.0.0.1", 80);
    for server in servers() {
        let family = Family::of(&server.key.addr);
        // Without ADDR_FAMILY the service's family is meant: give the server's.
        let attrs = server_to_attrs(&server);
        assert_eq!(server_from_attrs(&attrs, family).unwrap(), server);
        // With it, the service's family does not matter.
        let other = match family {
            Family::Ipv4 => Family::Ipv6,
            Family::Ipv6 => Family::Ipv4,
        };
        assert_eq!(server_from_attrs(&attrs, other).unwrap(), server);
        for msg in [new_dest(&svc, &server), set_dest(&svc, &server)] {
            let back = roundtrip(&msg);
            assert_eq!(back, msg);
            assert_eq!(parse_dest_reply(&back, other).unwrap().0, server);
        }
        let del = del_dest(&svc, &server.key);
        assert_eq!(roundtrip(&del), del);
    }
}

#[test]
fn daemons_round_trip() {
    for daemon in daemons() {
        let msg = new_daemon(&daemon);
        let back = roundtrip(&msg);
        assert_eq!(back, msg);
        assert_eq!(parse_daemon_reply(&back).unwrap(), daemon);
    }
}

#[test]
fn timeouts_round_trip() {
    for t in timeouts() {
        let msg = set_config(&t);
        let back = roundtrip(&msg);
        assert_eq!(back, msg);
        assert_eq!(parse_config_reply(&back), t);
    }
}

#[test]
fn replies_round_trip() {
    let stats = Stats {
        conns: 1,
        inpkts: 2,
        outpkts: 3,
        inbytes: 4,
        outbytes: 5,
        cps: 6,
        inpps: 7,
        outpps: 8,
        inbps: 9,
        outbps: u64::from(u32::MAX) + 10,
    };
    for service in services() {
        let mut attrs = service_to_attrs(&service);
        attrs.push(SvcAttr::Stats(stats.to_attrs32()));
        attrs.push(SvcAttr::Stats64(stats.to_attrs64()));
        let msg = IpvsMessage::new(IpvsCmd::NewService, vec![IpvsAttr::Service(attrs)]);
        let back = roundtrip(&msg);
        assert_eq!(back, msg);
        assert_eq!(parse_service_reply(&back).unwrap(), (service, stats));
    }
    for server in servers() {
        let mut attrs = server_to_attrs(&server);
        attrs.extend([
            DestAttr::ActiveConns(1),
            DestAttr::InactConns(2),
            DestAttr::PersistConns(3),
            DestAttr::Stats(stats.to_attrs32()),
        ]);
        let msg = IpvsMessage::new(IpvsCmd::NewDest, vec![IpvsAttr::Dest(attrs)]);
        let back = roundtrip(&msg);
        assert_eq!(back, msg);
        let (s, c) = parse_dest_reply(&back, Family::Ipv4).unwrap();
        assert_eq!(s, server);
        assert_eq!(
            (c.active_conns, c.inactive_conns, c.persistent_conns),
            (1, 2, 3)
        );
        // Without STATS64, the 32-bit counters: outbps truncated as the kernel truncates it.
        assert_eq!(c.stats.outbps, 9);
    }
    let info = IpvsMessage::new(
        IpvsCmd::SetInfo,
        vec![
            IpvsAttr::Info(InfoAttr::Version(0x010201)),
            IpvsAttr::Info(InfoAttr::ConnTabSize(1 << 20)),
        ],
    );
    assert_eq!(roundtrip(&info), info);
}

#[test]
fn every_op_has_its_request() {
    let svc = services().remove(0);
    let server = servers().remove(0);
    let daemon = daemons().remove(0);
    let cases = [
        (Op::AddService(svc.clone()), Some(IpvsCmd::NewService)),
        (Op::EditService(svc.clone()), Some(IpvsCmd::SetService)),
        (Op::DeleteService(svc.key), Some(IpvsCmd::DelService)),
        (Op::AddServer(svc.key, server), Some(IpvsCmd::NewDest)),
        (Op::EditServer(svc.key, server), Some(IpvsCmd::SetDest)),
        (
            Op::DeleteServer(svc.key, server.key),
            Some(IpvsCmd::DelDest),
        ),
        (
            Op::SetTimeouts(Timeouts::KERNEL_DEFAULT),
            Some(IpvsCmd::SetConfig),
        ),
        (Op::StartDaemon(daemon), Some(IpvsCmd::NewDaemon)),
        (
            Op::StopDaemon(DaemonState::Master),
            Some(IpvsCmd::DelDaemon),
        ),
        (
            Op::SetSysctl(Sysctl::Amemthresh, SysctlValue::Int(2048)),
            None,
        ),
        (Op::Zero(None), Some(IpvsCmd::Zero)),
        (Op::Zero(Some(svc.key)), Some(IpvsCmd::Zero)),
        (Op::Flush, Some(IpvsCmd::Flush)),
    ];
    for (op, cmd) in cases {
        let msg = request_for(&op);
        assert_eq!(msg.as_ref().map(|m| m.cmd), cmd, "{op}");
        if let Some(msg) = msg {
            assert!(!msg.cmd.is_dump());
            assert_eq!(roundtrip(&msg), msg);
        }
    }
    for dump in [get_services(), get_dests(&svc.key), get_daemons()] {
        assert!(dump.cmd.is_dump());
    }
    for cmd in 0..=20u8 {
        assert_eq!(u8::from(IpvsCmd::from(cmd)), cmd);
    }
}

// ---- what the kernel may report that the model does not hold -------------------------------

fn service_nest(sched: &str) -> Vec<SvcAttr> {
    let mut attrs = service_to_attrs(&Service::new(tcp("10.0.0.1", 80)));
    for a in &mut attrs {
        if let SvcAttr::SchedName(s) = a {
            *s = sched.to_string();
        }
    }
    attrs
}

#[test]
fn unknown_scheduler_is_an_error() {
    let err = service_from_attrs(&service_nest("foo"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"foo\""), "{err}");
    // A service whose scheduler was unbound reports "none".
    assert!(service_from_attrs(&service_nest("none")).is_err());
    assert!(service_from_attrs(&service_nest("wlc")).is_ok());
}

#[test]
fn localnode_reads_as_direct_routing() {
    let server = Server::new(ServerKey {
        addr: v4("127.0.0.1"),
        port: 80,
    });
    let mut attrs = server_to_attrs(&server);
    for a in &mut attrs {
        if let DestAttr::FwdMethod(m) = a {
            *m = IP_VS_CONN_F_LOCALNODE;
        }
    }
    assert_eq!(server_from_attrs(&attrs, Family::Ipv4).unwrap(), server);
    for a in &mut attrs {
        if let DestAttr::FwdMethod(m) = a {
            *m = IP_VS_CONN_F_BYPASS;
        }
    }
    assert!(server_from_attrs(&attrs, Family::Ipv4).is_err());
}

#[test]
fn tunnel_attributes_are_read_only_for_tunnels() {
    // The kernel reports TUN_TYPE/PORT/FLAGS for every server; a NAT server's are zeros.
    let server = Server {
        forward: Forward::Nat,
        ..Server::new(ServerKey {
            addr: v4("10.0.0.2"),
            port: 80,
        })
    };
    let mut attrs = server_to_attrs(&server);
    attrs.extend([
        DestAttr::TunType(IP_VS_CONN_F_TUNNEL_TYPE_GRE),
        DestAttr::TunPort(0),
        DestAttr::TunFlags(3),
    ]);
    assert_eq!(server_from_attrs(&attrs, Family::Ipv4).unwrap(), server);
    // A tunnel without TUN_TYPE (kernels before 5.2) is IPIP.
    let ipip = Server {
        forward: Forward::Tunnel(Tunnel::Ipip),
        ..server
    };
    let attrs: Vec<DestAttr> = server_to_attrs(&ipip)
        .into_iter()
        .filter(|a| {
            !matches!(
                a,
                DestAttr::TunType(_) | DestAttr::TunPort(_) | DestAttr::TunFlags(_)
            )
        })
        .collect();
    assert_eq!(server_from_attrs(&attrs, Family::Ipv4).unwrap(), ipip);
}

#[test]
fn bad_replies_are_errors() {
    // IPv6 prefix beyond 128.
    let mut attrs = service_to_attrs(&Service::new(ServiceKey::Fwmark {
        family: Family::Ipv6,
        mark: 3,
    }));
    for a in &mut attrs {
        if let SvcAttr::Netmask(m) = a {
            *m = 129;
        }
    }
    assert!(service_from_attrs(&attrs).is_err());
    // Missing identity.
    assert!(service_from_attrs(&[SvcAttr::Af(2)]).is_err());
    assert!(parse_service_reply(&flush()).is_err());
    assert!(parse_dest_reply(&flush(), Family::Ipv4).is_err());
    assert!(parse_daemon_reply(&flush()).is_err());
    // A truncated attribute.
    assert!(parse_genl(&[0x01, 0x01, 0x00, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00]).is_err());
    // A wrongly sized port.
    assert!(parse_genl(&[
        0x01, 0x01, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x08, 0x00, 0x04, 0x00, 0, 0, 0, 0
    ])
    .is_err());
    // A sync id the model cannot hold.
    let daemon = daemon_from_attrs(&[
        DaemonAttr::State(IP_VS_STATE_BACKUP),
        DaemonAttr::McastIfn("eth0".into()),
        DaemonAttr::SyncId(256),
    ]);
    assert!(daemon.is_err());
}

#[test]
fn genl_header_carries_family_and_version() {
    let msg = new_service(&services()[0]);
    assert_eq!(
        <IpvsMessage as netlink_packet_generic::GenlFamily>::family_name(),
        "IPVS"
    );
    let parsed = IpvsMessage::parse_with_param(
        &genl_bytes(&msg)[4..],
        GenlHeader {
            cmd: IPVS_CMD_NEW_SERVICE,
            version: IPVS_GENL_VERSION,
        },
    )
    .unwrap();
    assert_eq!(parsed, msg);
}
