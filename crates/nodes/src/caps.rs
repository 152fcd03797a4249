//! The capabilities a node keeps. Everything else is dropped from the bounding set (so no process of
//! the node can ever regain it) and from the node PID 1's own sets, before PID 1 runs any program.
//!
//! Kept: what sshd, PAM, `service`, dpkg and redis need, and capabilities confined to the node's own
//! namespaces (NET_ADMIN and NET_RAW act on the node's network namespace only). Dropped among others:
//! SYS_TIME (the clock; chrony must run as `chronyd -x`), SYS_MODULE, SYS_RAWIO, SYS_BOOT, SYS_ADMIN
//! (mounts; `/proc/sys` stays read-only), MKNOD (no device nodes for host disks), DAC_READ_SEARCH
//! (`open_by_handle_at` escapes), MAC_*, SYSLOG, WAKE_ALARM, SYS_PACCT, SYS_NICE, SYS_RESOURCE, BPF,
//! PERFMON, LEASE, LINUX_IMMUTABLE, IPC_LOCK, SYS_PTRACE, AUDIT_CONTROL, BLOCK_SUSPEND, CHECKPOINT_RESTORE.

use nix::errno::Errno;
use nix::libc;

/// Linux capability numbers (linux/capability.h).
pub mod num {
    #![allow(missing_docs)]
    pub const CHOWN: u32 = 0;
    pub const DAC_OVERRIDE: u32 = 1;
    pub const FOWNER: u32 = 3;
    pub const FSETID: u32 = 4;
    pub const KILL: u32 = 5;
    pub const SETGID: u32 = 6;
    pub const SETUID: u32 = 7;
    pub const SETPCAP: u32 = 8;
    pub const NET_BIND_SERVICE: u32 = 10;
    pub const NET_BROADCAST: u32 = 11;
    pub const NET_ADMIN: u32 = 12;
    pub const NET_RAW: u32 = 13;
    pub const SYS_MODULE: u32 = 16;
    pub const SYS_RAWIO: u32 = 17;
    pub const SYS_CHROOT: u32 = 18;
    pub const SYS_ADMIN: u32 = 21;
    pub const SYS_BOOT: u32 = 22;
    pub const SYS_TIME: u32 = 25;
    pub const AUDIT_WRITE: u32 = 29;
    pub const AUDIT_CONTROL: u32 = 30;
    pub const SETFCAP: u32 = 31;
}

/// The capabilities a node keeps.
pub const KEPT: &[u32] = &[
    num::CHOWN,
    num::DAC_OVERRIDE,
    num::FOWNER,
    num::FSETID,
    num::KILL,
    num::SETGID,
    num::SETUID,
    num::SETPCAP,
    num::NET_BIND_SERVICE,
    num::NET_BROADCAST,
    num::NET_ADMIN,
    num::NET_RAW,
    num::SYS_CHROOT,
    num::AUDIT_WRITE,
    num::SETFCAP,
];

/// The kept set as a bit mask.
pub fn kept_mask() -> u64 {
    KEPT.iter().fold(0, |m, c| m | (1u64 << c))
}

fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Drops every capability not in [`KEPT`] from the bounding set, then limits this process's
/// permitted, effective and inheritable sets to [`KEPT`].
pub fn drop_all_but_kept() -> Result<(), Errno> {
    let mask = kept_mask();
    for cap in 0..=last_cap() {
        if mask & (1 << cap) == 0 {
            // SAFETY: prctl with PR_CAPBSET_DROP takes plain integer arguments.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if r != 0 {
                let e = Errno::last();
                if e != Errno::EINVAL {
                    return Err(e);
                }
            }
        }
    }
    set_own(mask)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

fn set_own(mask: u64) -> Result<(), Errno> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget fills the two-element array of version 3.
    if unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    } != 0
    {
        return Err(Errno::last());
    }
    for (i, d) in data.iter_mut().enumerate() {
        let m = (mask >> (32 * i)) as u32;
        d.effective &= m;
        d.permitted &= m;
        d.inheritable &= m;
    }
    // SAFETY: capset reads the header and the two-element array of version 3.
    if unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Parses a capability set line of `/proc/PID/status` (`CapBnd:\t000001fffeffffff`).
pub fn parse_status_mask(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_changing_capabilities_are_not_kept() {
        let m = kept_mask();
        for cap in [
            num::SYS_TIME,
            num::SYS_MODULE,
            num::SYS_RAWIO,
            num::SYS_BOOT,
            num::SYS_ADMIN,
            num::AUDIT_CONTROL,
        ] {
            assert_eq!(m & (1 << cap), 0, "cap {cap} must be dropped");
        }
        assert_ne!(m & (1 << num::SETUID), 0);
    }

    #[test]
    fn parses_status_masks() {
        let s = "Name:\tx\nCapEff:\t0000000000000020\nCapBnd:\t000001fffeffffff\n";
        assert_eq!(parse_status_mask(s, "CapEff"), Some(0x20));
        assert_eq!(parse_status_mask(s, "CapBnd"), Some(0x1fffeffffff));
        assert_eq!(parse_status_mask(s, "CapPrm"), None);
    }
}
