//! Sysctl defaults the kernel computes from the host rather than fixes: a value equal to what
//! the kernel computed is not a setting, and `save` must not pin one host's value on others.
//!
//! Of the IPVS sysctls only `sync_qlen_max` is such: `ip_vs_control_net_init_sysctl` sets it
//! to `nr_free_buffer_pages() / 32` when the network namespace starts. nr_free_buffer_pages
//! sums, over the zones a GFP_USER allocation may use (DMA, DMA32, Normal), each zone's managed
//! pages above its high watermark; /proc/zoneinfo shows both (`managed`, `high`), so the
//! default is computed again from there. The watermarks move when `vm.min_free_kbytes` or
//! `vm.watermark_scale_factor` change: after such a change the namespace's value no longer
//! matches and is saved as a setting, which is the honest reading. (`sync_sock_size` defaults
//! to 0 and `amemthresh` to 1024 on every host.)

use crate::model::{Sysctl, SysctlValue};

const ZONEINFO: &str = "/proc/zoneinfo";

/// The defaults this host's kernel computed, for the sysctls that have such a default.
pub fn host_defaults() -> Vec<(Sysctl, SysctlValue)> {
    std::fs::read_to_string(ZONEINFO)
        .ok()
        .and_then(|text| sync_qlen_max(&text))
        .map(|v| (Sysctl::SyncQlenMax, SysctlValue::Int(v)))
        .into_iter()
        .collect()
}

/// `nr_free_buffer_pages() / 32` from the text of /proc/zoneinfo.
pub fn sync_qlen_max(zoneinfo: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut counted = false;
    let mut in_zone = false;
    let (mut high, mut managed) = (None, None);
    let mut finish = |high: &mut Option<i64>, managed: &mut Option<i64>, in_zone: bool| {
        if let (true, Some(h), Some(m)) = (in_zone, high.take(), managed.take()) {
            total += (m - h).max(0);
            counted = true;
        }
        *high = None;
        *managed = None;
    };
    for line in zoneinfo.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("Node"), _, Some("zone")) => {
                finish(&mut high, &mut managed, in_zone);
                in_zone = matches!(words.next(), Some("DMA" | "DMA32" | "Normal"));
            }
            (Some("high"), Some(v), None) if high.is_none() => high = v.parse().ok(),
            (Some("managed"), Some(v), None) => managed = v.parse().ok(),
            _ => {}
        }
    }
    finish(&mut high, &mut managed, in_zone);
    counted.then_some(total / 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Abridged from a Debian 12 host's /proc/zoneinfo (4 CPUs, 12 GiB): the zones' own
    /// `high` lines come before the per-CPU `pagesets`, whose `high:` lines must not count.
    const ZONEINFO: &str = "\
Node 0, zone      DMA
  per-node stats
      nr_inactive_anon 1
  pages free     3840
        boost    0
        min      16
        low      21
        high     27
        spanned  4095
        present  3998
        managed  3840
        cma      0
  pagesets
    cpu: 0
              count: 0
              high:  0
Node 0, zone    DMA32
  pages free     700000
        high     5994
        managed  772794
Node 0, zone   Normal
  pages free     2000000
        high     19317
        managed  2490368
    cpu: 0
              high:  4000
Node 0, zone  Movable
  pages free     0
        high     32
        managed  0
Node 0, zone   Device
  pages free     0
        high     0
        managed  0
";

    #[test]
    fn sums_managed_pages_above_the_high_watermark_of_dma_dma32_and_normal() {
        let pages = (3840 - 27) + (772794 - 5994) + (2490368 - 19317);
        assert_eq!(sync_qlen_max(ZONEINFO), Some(pages / 32));
    }

    #[test]
    fn a_zone_below_its_watermark_counts_nothing_and_no_zones_give_nothing() {
        let text =
            "Node 0, zone Normal\n high 100\n managed 50\nNode 0, zone DMA\n high 1\n managed 33\n";
        assert_eq!(sync_qlen_max(text), Some(1));
        assert_eq!(sync_qlen_max(""), None);
    }
}
