//! One kernel operation as `plan --format json` lists it (and the test-only `ops` reads it).

use serde::{Deserialize, Serialize};

use super::table::{daemon_state, sysctl_value};
use super::{DaemonDoc, TimeoutsDoc};
use super::{Invalid, ServerDoc, ServerKeyDoc, ServiceDoc, ServiceKeyDoc, SysctlValueDoc};
use crate::kernel::Op;
use crate::model::{Daemon, Server, Service, ServiceKey};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpDoc {
    /// The service's settings; `servers` is always empty.
    AddService(ServiceDoc),
    EditService(ServiceDoc),
    DeleteService(ServiceKeyDoc),
    AddServer(ServiceKeyDoc, ServerDoc),
    EditServer(ServiceKeyDoc, ServerDoc),
    DeleteServer(ServiceKeyDoc, ServerKeyDoc),
    SetTimeouts(TimeoutsDoc),
    StartDaemon(DaemonDoc),
    /// `master` or `backup`.
    StopDaemon(String),
    SetSysctl(String, SysctlValueDoc),
    Zero(Option<ServiceKeyDoc>),
    Flush,
}

impl From<&Op> for OpDoc {
    fn from(op: &Op) -> OpDoc {
        match op {
            Op::AddService(s) => OpDoc::AddService(s.as_ref().into()),
            Op::EditService(s) => OpDoc::EditService(s.as_ref().into()),
            Op::DeleteService(k) => OpDoc::DeleteService((*k).into()),
            Op::AddServer(k, s) => OpDoc::AddServer((*k).into(), s.into()),
            Op::EditServer(k, s) => OpDoc::EditServer((*k).into(), s.into()),
            Op::DeleteServer(k, s) => OpDoc::DeleteServer((*k).into(), (*s).into()),
            Op::SetTimeouts(t) => OpDoc::SetTimeouts((*t).into()),
            Op::StartDaemon(d) => OpDoc::StartDaemon(d.into()),
            Op::StopDaemon(s) => OpDoc::StopDaemon(s.name().to_string()),
            Op::SetSysctl(s, v) => OpDoc::SetSysctl(s.name().to_string(), (*v).into()),
            Op::Zero(k) => OpDoc::Zero(k.map(Into::into)),
            Op::Flush => OpDoc::Flush,
        }
    }
}

impl TryFrom<OpDoc> for Op {
    type Error = Invalid;

    fn try_from(doc: OpDoc) -> Result<Op, Invalid> {
        Ok(match doc {
            OpDoc::AddService(s) => Op::AddService(Box::new(Service::try_from(s)?)),
            OpDoc::EditService(s) => Op::EditService(Box::new(Service::try_from(s)?)),
            OpDoc::DeleteService(k) => Op::DeleteService(k.try_into()?),
            OpDoc::AddServer(k, s) => Op::AddServer(k.try_into()?, Server::try_from(s)?),
            OpDoc::EditServer(k, s) => Op::EditServer(k.try_into()?, Server::try_from(s)?),
            OpDoc::DeleteServer(k, s) => Op::DeleteServer(k.try_into()?, s.into()),
            OpDoc::SetTimeouts(t) => Op::SetTimeouts(t.into()),
            OpDoc::StartDaemon(d) => Op::StartDaemon(Daemon::try_from(d)?),
            OpDoc::StopDaemon(s) => Op::StopDaemon(daemon_state(&s)?),
            OpDoc::SetSysctl(name, v) => {
                let (sysctl, value) = sysctl_value(&name, v)?;
                Op::SetSysctl(sysctl, value)
            }
            OpDoc::Zero(k) => Op::Zero(k.map(ServiceKey::try_from).transpose()?),
            OpDoc::Flush => Op::Flush,
        })
    }
}

/// Operations from their JSON list.
pub fn ops_from_json(text: &str) -> Result<Vec<Op>, Invalid> {
    let docs: Vec<OpDoc> = serde_json::from_str(text)
        .map_err(|e| Invalid(format!("not a list of operations: {e}")))?;
    docs.into_iter().map(Op::try_from).collect()
}

/// Operations as their JSON list.
pub fn ops_to_json(ops: &[Op]) -> String {
    let docs: Vec<OpDoc> = ops.iter().map(OpDoc::from).collect();
    serde_json::to_string(&docs).expect("operations serialize")
}
