//! The IPVS sysctls, `/proc/sys/net/ipv4/vs/NAME`: files, not netlink, read and written as
//! `sysctl net.ipv4.vs.NAME` does.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use super::{KernelError, Op};
use crate::model::{Sysctl, SysctlValue};

/// Where the IPVS sysctls live.
pub const SYSCTL_DIR: &str = "/proc/sys/net/ipv4/vs";

/// The sysctls of [`Sysctl::ALL`] this kernel has under `dir`; files it lacks are skipped.
pub fn read_sysctls(dir: &Path) -> Result<BTreeMap<Sysctl, SysctlValue>, KernelError> {
    let mut out = BTreeMap::new();
    for &sysctl in Sysctl::ALL {
        let path = dir.join(sysctl.name());
        let doing = || format!("read {}", path.display());
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(KernelError::io(doing(), &e)),
        };
        let value =
            SysctlValue::from_kernel_text(sysctl, &text).ok_or_else(|| KernelError::Io {
                errno: None,
                doing: doing(),
                reason: format!("unexpected value {:?}", text.trim_end()),
            })?;
        out.insert(sysctl, value);
    }
    Ok(out)
}

/// Writes a sysctl file, as `sysctl -w net.ipv4.vs.NAME=VALUE` does; `op` is the operation it
/// performs, for the error.
pub fn write_sysctl(
    dir: &Path,
    op: &Op,
    sysctl: Sysctl,
    value: &SysctlValue,
) -> Result<(), KernelError> {
    let path = dir.join(sysctl.name());
    let text = value.kernel_text();
    let Err(e) = fs::write(&path, format!("{text}\n")) else {
        return Ok(());
    };
    let errno = e.raw_os_error();
    let doing = op.to_string();
    Err(match (e.kind(), errno) {
        (io::ErrorKind::NotFound, _) => KernelError::Io {
            errno,
            doing,
            reason: format!(
                "this kernel has no {} (is the ip_vs module loaded?)",
                path.display()
            ),
        },
        (io::ErrorKind::PermissionDenied, Some(errno)) => KernelError::NotPermitted {
            errno,
            doing,
            reason: format!("writing {} needs root / CAP_NET_ADMIN", path.display()),
        },
        (_, Some(libc::EINVAL)) => KernelError::Refused {
            errno: libc::EINVAL,
            doing,
            reason: format!("the kernel does not accept {text} for {sysctl}"),
        },
        (_, Some(errno)) => KernelError::refused(op, errno),
        (_, None) => KernelError::io(doing, &e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::fake::temp_dir;
    use crate::model::DefenseMode;

    #[test]
    fn sysctl_files() {
        let dir = temp_dir("sysctl");
        fs::write(dir.join("secure_tcp"), "7\n").unwrap();
        let e = read_sysctls(&dir).unwrap_err();
        assert!(e.reason().contains("\"7\""), "{e}");
        assert!(e.to_string().starts_with("cannot read "), "{e}");
        fs::remove_file(dir.join("secure_tcp")).unwrap();
        assert!(read_sysctls(&dir).unwrap().is_empty());

        let always = SysctlValue::Defense(DefenseMode::Always);
        let op = Op::SetSysctl(Sysctl::SecureTcp, always);
        let missing = dir.join("missing");
        let e = write_sysctl(&missing, &op, Sysctl::SecureTcp, &always).unwrap_err();
        assert_eq!(e.errno(), Some(libc::ENOENT));
        assert!(e.reason().contains("this kernel has no"), "{e}");
        write_sysctl(&dir, &op, Sysctl::SecureTcp, &always).unwrap();
        assert_eq!(read_sysctls(&dir).unwrap()[&Sysctl::SecureTcp], always);
        fs::remove_dir_all(dir).unwrap();
    }
}
