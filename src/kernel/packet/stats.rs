//! The counters nested in services and destinations (`IPVS_SVC_ATTR_STATS`,
//! `IPVS_SVC_ATTR_STATS64`, `IPVS_DEST_ATTR_STATS`, `IPVS_DEST_ATTR_STATS64`), what
//! `ipvsadm -L -n --stats` and `--rate` print.

use netlink_packet_core::{
    emit_u32, emit_u64, parse_u32, parse_u64, DecodeError, DefaultNla, ErrorContext, Nla,
    NlaBuffer, Parseable,
};
use serde::Serialize;

pub const IPVS_STATS_ATTR_UNSPEC: u16 = 0;
pub const IPVS_STATS_ATTR_CONNS: u16 = 1;
pub const IPVS_STATS_ATTR_INPKTS: u16 = 2;
pub const IPVS_STATS_ATTR_OUTPKTS: u16 = 3;
pub const IPVS_STATS_ATTR_INBYTES: u16 = 4;
pub const IPVS_STATS_ATTR_OUTBYTES: u16 = 5;
pub const IPVS_STATS_ATTR_CPS: u16 = 6;
pub const IPVS_STATS_ATTR_INPPS: u16 = 7;
pub const IPVS_STATS_ATTR_OUTPPS: u16 = 8;
pub const IPVS_STATS_ATTR_INBPS: u16 = 9;
pub const IPVS_STATS_ATTR_OUTBPS: u16 = 10;
pub const IPVS_STATS_ATTR_PAD: u16 = 11;

/// A counter as the kernel sent it: the 32-bit `STATS` nest truncates everything but the byte
/// counts, `STATS64` sends every counter as 64 bits. Keeping the width makes emit exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    U32(u32),
    U64(u64),
}

impl Counter {
    pub fn get(self) -> u64 {
        match self {
            Counter::U32(v) => u64::from(v),
            Counter::U64(v) => v,
        }
    }

    fn len(self) -> usize {
        match self {
            Counter::U32(_) => 4,
            Counter::U64(_) => 8,
        }
    }

    fn emit(self, buffer: &mut [u8]) {
        match self {
            Counter::U32(v) => emit_u32(buffer, v).expect("sized by value_len"),
            Counter::U64(v) => emit_u64(buffer, v).expect("sized by value_len"),
        }
    }

    fn parse(payload: &[u8]) -> Result<Counter, DecodeError> {
        match payload.len() {
            4 => Ok(Counter::U32(parse_u32(payload)?)),
            8 => Ok(Counter::U64(parse_u64(payload)?)),
            n => Err(DecodeError::invalid_number(8, n)),
        }
    }
}

/// An attribute of a stats nest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatsAttr {
    Conns(Counter),
    Inpkts(Counter),
    Outpkts(Counter),
    Inbytes(Counter),
    Outbytes(Counter),
    Cps(Counter),
    Inpps(Counter),
    Outpps(Counter),
    Inbps(Counter),
    Outbps(Counter),
    /// Alignment padding the kernel inserts before a u64 on architectures that need it.
    Pad,
    Other(DefaultNla),
}

impl StatsAttr {
    fn counter(&self) -> Option<Counter> {
        use StatsAttr::*;
        match self {
            Conns(c) | Inpkts(c) | Outpkts(c) | Inbytes(c) | Outbytes(c) | Cps(c) | Inpps(c)
            | Outpps(c) | Inbps(c) | Outbps(c) => Some(*c),
            Pad | Other(_) => None,
        }
    }
}

impl Nla for StatsAttr {
    fn value_len(&self) -> usize {
        match self {
            StatsAttr::Pad => 0,
            StatsAttr::Other(nla) => nla.value_len(),
            counter => counter.counter().map_or(0, Counter::len),
        }
    }

    fn kind(&self) -> u16 {
        use StatsAttr::*;
        match self {
            Conns(_) => IPVS_STATS_ATTR_CONNS,
            Inpkts(_) => IPVS_STATS_ATTR_INPKTS,
            Outpkts(_) => IPVS_STATS_ATTR_OUTPKTS,
            Inbytes(_) => IPVS_STATS_ATTR_INBYTES,
            Outbytes(_) => IPVS_STATS_ATTR_OUTBYTES,
            Cps(_) => IPVS_STATS_ATTR_CPS,
            Inpps(_) => IPVS_STATS_ATTR_INPPS,
            Outpps(_) => IPVS_STATS_ATTR_OUTPPS,
            Inbps(_) => IPVS_STATS_ATTR_INBPS,
            Outbps(_) => IPVS_STATS_ATTR_OUTBPS,
            Pad => IPVS_STATS_ATTR_PAD,
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            StatsAttr::Pad => {}
            StatsAttr::Other(nla) => nla.emit_value(buffer),
            counter => {
                if let Some(c) = counter.counter() {
                    c.emit(buffer)
                }
            }
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for StatsAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let payload = buf.value();
        let counter = || {
            Counter::parse(payload)
                .with_context(|| format!("invalid IPVS stats attribute {}", buf.kind()))
        };
        Ok(match buf.kind() {
            IPVS_STATS_ATTR_CONNS => StatsAttr::Conns(counter()?),
            IPVS_STATS_ATTR_INPKTS => StatsAttr::Inpkts(counter()?),
            IPVS_STATS_ATTR_OUTPKTS => StatsAttr::Outpkts(counter()?),
            IPVS_STATS_ATTR_INBYTES => StatsAttr::Inbytes(counter()?),
            IPVS_STATS_ATTR_OUTBYTES => StatsAttr::Outbytes(counter()?),
            IPVS_STATS_ATTR_CPS => StatsAttr::Cps(counter()?),
            IPVS_STATS_ATTR_INPPS => StatsAttr::Inpps(counter()?),
            IPVS_STATS_ATTR_OUTPPS => StatsAttr::Outpps(counter()?),
            IPVS_STATS_ATTR_INBPS => StatsAttr::Inbps(counter()?),
            IPVS_STATS_ATTR_OUTBPS => StatsAttr::Outbps(counter()?),
            IPVS_STATS_ATTR_PAD if payload.is_empty() => StatsAttr::Pad,
            _ => StatsAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// The counters and rate estimates of a service or a destination (`ipvsadm -L --stats`,
/// `--rate`). Rates are per second, bytes rates in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

impl Stats {
    /// Reads a stats nest; counters it lacks stay 0.
    pub fn from_attrs(attrs: &[StatsAttr]) -> Stats {
        let mut s = Stats::default();
        for attr in attrs {
            let Some(c) = attr.counter() else { continue };
            let slot = match attr {
                StatsAttr::Conns(_) => &mut s.conns,
                StatsAttr::Inpkts(_) => &mut s.inpkts,
                StatsAttr::Outpkts(_) => &mut s.outpkts,
                StatsAttr::Inbytes(_) => &mut s.inbytes,
                StatsAttr::Outbytes(_) => &mut s.outbytes,
                StatsAttr::Cps(_) => &mut s.cps,
                StatsAttr::Inpps(_) => &mut s.inpps,
                StatsAttr::Outpps(_) => &mut s.outpps,
                StatsAttr::Inbps(_) => &mut s.inbps,
                StatsAttr::Outbps(_) => &mut s.outbps,
                StatsAttr::Pad | StatsAttr::Other(_) => continue,
            };
            *slot = c.get();
        }
        s
    }

    /// The 64-bit counters when the kernel sent them (Linux 4.7+), else the 32-bit ones.
    pub fn prefer_64(stats: Option<&[StatsAttr]>, stats64: Option<&[StatsAttr]>) -> Stats {
        stats64.or(stats).map(Stats::from_attrs).unwrap_or_default()
    }

    /// The `STATS` nest as the kernel fills it: byte counts 64-bit, the rest truncated to 32.
    pub fn to_attrs32(&self) -> Vec<StatsAttr> {
        let n = |v: u64| Counter::U32(v as u32);
        self.attrs(n, Counter::U64)
    }

    /// The `STATS64` nest: every counter 64-bit.
    pub fn to_attrs64(&self) -> Vec<StatsAttr> {
        self.attrs(Counter::U64, Counter::U64)
    }

    fn attrs(&self, n: impl Fn(u64) -> Counter, bytes: impl Fn(u64) -> Counter) -> Vec<StatsAttr> {
        vec![
            StatsAttr::Conns(n(self.conns)),
            StatsAttr::Inpkts(n(self.inpkts)),
            StatsAttr::Outpkts(n(self.outpkts)),
            StatsAttr::Inbytes(bytes(self.inbytes)),
            StatsAttr::Outbytes(bytes(self.outbytes)),
            StatsAttr::Cps(n(self.cps)),
            StatsAttr::Inpps(n(self.inpps)),
            StatsAttr::Outpps(n(self.outpps)),
            StatsAttr::Inbps(n(self.inbps)),
            StatsAttr::Outbps(n(self.outbps)),
        ]
    }
}

/// What the kernel counts for one real server: its connections (the `ActiveConn`, `InActConn`
/// columns of `ipvsadm -L -n`, and `--persistent-conn`) and its traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ServerCounters {
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub persistent_conns: u32,
    pub stats: Stats,
}
