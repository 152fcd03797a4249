//! Memory figures read from /proc for the node benchmarks (bench_nodes, bench_local): kernel memory
//! that grows with namespaces, mounts and processes, and the PSS of a process tree.

/// A `/proc/meminfo` field in kB (0 when absent).
pub fn meminfo_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Kernel memory fields that grow with namespaces, mounts and processes.
pub const KERNEL_FIELDS: &[&str] = &["SUnreclaim", "KernelStack", "PageTables", "Percpu"];

/// The sum of [`KERNEL_FIELDS`] in kB.
pub fn kernel_kb() -> u64 {
    KERNEL_FIELDS.iter().map(|f| meminfo_kb(f)).sum()
}

/// Proportional set size of one process in kB.
pub fn pss_kb(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// `pid` and all its descendants, depth first.
pub fn tree(pid: i32, out: &mut Vec<i32>) {
    out.push(pid);
    let kids =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    for k in kids.split_whitespace().filter_map(|s| s.parse().ok()) {
        tree(k, out);
    }
}
