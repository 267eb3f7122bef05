//! The top-level attributes of a GET_INFO reply (`IPVS_INFO_ATTR_*`), whose numbers clash with
//! the other commands' (`IPVS_CMD_ATTR_SERVICE` is 1 too).

use netlink_packet_core::{
    emit_u32, parse_u32, DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable,
};
use serde::Serialize;

pub const IPVS_INFO_ATTR_UNSPEC: u16 = 0;
pub const IPVS_INFO_ATTR_VERSION: u16 = 1;
pub const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

/// An attribute of a SET_INFO message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InfoAttr {
    /// IP_VS_VERSION_CODE: 0x010201 is 1.2.1.
    Version(u32),
    /// The size of the connection hash table.
    ConnTabSize(u32),
    Other(DefaultNla),
}

impl Nla for InfoAttr {
    fn value_len(&self) -> usize {
        match self {
            InfoAttr::Version(_) | InfoAttr::ConnTabSize(_) => 4,
            InfoAttr::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            InfoAttr::Version(_) => IPVS_INFO_ATTR_VERSION,
            InfoAttr::ConnTabSize(_) => IPVS_INFO_ATTR_CONN_TAB_SIZE,
            InfoAttr::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            InfoAttr::Version(v) | InfoAttr::ConnTabSize(v) => emit_u32(buffer, *v).expect("sized"),
            InfoAttr::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for InfoAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let payload = buf.value();
        Ok(match buf.kind() {
            IPVS_INFO_ATTR_VERSION => {
                InfoAttr::Version(parse_u32(payload).context("invalid IPVS_INFO_ATTR_VERSION")?)
            }
            IPVS_INFO_ATTR_CONN_TAB_SIZE => InfoAttr::ConnTabSize(
                parse_u32(payload).context("invalid IPVS_INFO_ATTR_CONN_TAB_SIZE")?,
            ),
            _ => InfoAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// What `ipvsadm -L` prints in its first line: "IP Virtual Server version 1.2.1 (size=4096)".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IpvsInfo {
    pub version: u32,
    pub conn_tab_size: u32,
}

impl IpvsInfo {
    pub fn from_attrs(attrs: &[InfoAttr]) -> Result<IpvsInfo, DecodeError> {
        let mut version = None;
        let mut size = None;
        for attr in attrs {
            match attr {
                InfoAttr::Version(v) => version = Some(*v),
                InfoAttr::ConnTabSize(v) => size = Some(*v),
                InfoAttr::Other(_) => {}
            }
        }
        Ok(IpvsInfo {
            version: version.ok_or("the reply has no IPVS_INFO_ATTR_VERSION")?,
            conn_tab_size: size.ok_or("the reply has no IPVS_INFO_ATTR_CONN_TAB_SIZE")?,
        })
    }

    /// The version as ipvsadm prints it: "1.2.1".
    pub fn version_string(&self) -> String {
        let v = self.version;
        format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
    }
}
