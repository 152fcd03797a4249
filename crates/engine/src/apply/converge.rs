//! The rules every kind's steps share to converge without duplicates: a create observes before it
//! creates again (a lost answer or NAME_NOT_UNIQUE leads to a lookup), a delete of something gone is
//! done, a delete refused with HAS_DEPENDENCY right after its children went is retried, a wait
//! on something this run did not just ask for resumes instead of expecting a change, and when
//! several resources stand for one (runs on other machines created them at the same time), every
//! run keeps the same one ([`age_key`]).

use std::time::Duration;

use cloud::{AsyncOp, CloudError, CloudResult, Wait};

/// How many times a create is attempted when its answers keep getting lost.
pub(super) const CREATE_ATTEMPTS: u32 = 6;

/// Create with observation: `observe` finds the resource if it exists; `create` makes it. A lost answer
/// or NAME_NOT_UNIQUE leads to observing again before another create. Returns the id and whether this
/// call created it (its answer was seen).
pub(super) async fn observe_or_create<O, OF, C, CF>(
    what: &str,
    mut observe: O,
    mut create: C,
) -> CloudResult<(String, bool)>
where
    O: FnMut() -> OF,
    OF: std::future::Future<Output = CloudResult<Option<String>>>,
    C: FnMut() -> CF,
    CF: std::future::Future<Output = CloudResult<String>>,
{
    let mut last = None;
    for attempt in 0..CREATE_ATTEMPTS {
        if attempt > 0
            && let Some(id) = observe().await?
        {
            return Ok((id, false));
        }
        match create().await {
            Ok(id) => return Ok((id, true)),
            Err(e) if e.is_ambiguous() || e.has_code(cloud::ErrorCode::NameNotUnique) => {
                tracing::info!(target: "engine", what, error = %e, "observing before creating again");
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| CloudError::Config(format!("could not create {what}"))))
}

/// Ok when the error says the thing is already gone.
pub(super) fn gone_ok(r: CloudResult<()>) -> CloudResult<()> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

/// HAS_DEPENDENCY right after children were deleted may be transient: retry a few times.
pub(super) async fn delete_with_dependency_retry<F, Fut>(mut f: F) -> CloudResult<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = CloudResult<()>>,
{
    let mut delay = Duration::from_millis(200);
    for attempt in 0..8 {
        match f().await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) if e.has_code(cloud::ErrorCode::HasDependency) && attempt < 7 => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

/// The wait after `op`: expecting the change when this run just asked for it (`fresh`), else
/// resuming a wait on whatever is pending.
pub(super) fn wait_kind(op: AsyncOp, fresh: bool) -> Wait {
    if fresh {
        Wait::after(op)
    } else {
        Wait::resume(op)
    }
}

/// The order every run agrees on when several resources stand for one (servers of one name, public
/// IP blocks beyond what the plan needs): the oldest creation time first (none known: last); the
/// API gives it in whole seconds, so resources created in the same second tie, and the address the
/// API allocated (a server's private address, a block's base), lowest first, stands for the order
/// of creation (the API hands out the lowest free one); then the smallest id. The first is kept,
/// the others are removed.
pub(crate) fn age_key<'a>(
    create_time: Option<&'a str>,
    address: Option<&str>,
    id: &'a str,
) -> (bool, &'a str, u64, &'a str) {
    let t = create_time.map(str::trim).filter(|t| !t.is_empty());
    let a = address
        .and_then(|a| a.trim().parse::<std::net::Ipv4Addr>().ok())
        .map_or(u64::MAX, |a| u64::from(u32::from(a)));
    (t.is_none(), t.unwrap_or(""), a, id.trim())
}

#[cfg(test)]
mod tests {
    use super::age_key;

    #[test]
    fn oldest_first_then_the_lowest_address_then_the_smallest_id() {
        let t1 = Some("2026-12-06T10:00:00.000Z");
        let t2 = Some("2026-12-06T10:00:01.000Z");
        assert!(age_key(t1, Some("10.0.0.99"), "z") < age_key(t2, Some("10.0.0.1"), "a"));
        assert!(age_key(t1, Some("10.0.0.9"), "z") < age_key(t1, Some("10.0.0.10"), "a"));
        assert!(age_key(t1, Some("10.0.0.9"), "a") < age_key(t1, Some("10.0.0.9"), "b"));
        assert!(age_key(t1, None, "a") > age_key(t1, Some("10.0.0.9"), "b"));
        assert!(age_key(None, Some("10.0.0.1"), "a") > age_key(t2, None, "b"));
    }
}
