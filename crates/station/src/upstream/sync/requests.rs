//! How a claim's pending instances become STOW-RS requests, and how the hub's refusals are
//! named to a person (PS3.18 Table 10.5.3-1).
//!
//! Must never: put an instance in two requests, or leave one out.

use crate::store::queue;

/// HTTP statuses that say something about the content sent (rather than about the link, the
/// credentials or the URL): sending the instances one by one tells which one it is about.
pub(super) fn refuses_content(status: u16) -> bool {
    matches!(status, 400 | 409 | 413 | 415 | 422)
}

/// Failure Reason (0008,1197) codes as PS3.18 Table 10.5.3-1 / PS3.4 B.2.3 name them.
pub(super) fn failure_reason_text(code: u16) -> &'static str {
    match code {
        0xA700..=0xA7FF => "out of resources",
        0xA900..=0xA9FF => "data set does not match SOP class",
        0xC000..=0xCFFF => "cannot understand",
        0x0122 => "SOP class not supported",
        0x0124 => "not authorized",
        0x0110 => "processing failure",
        0x0111 => "duplicate SOP instance",
        0x0211 => "unrecognized operation",
        0x0212 => "mistyped argument",
        0x0213 => "resource limitation",
        0xB000..=0xBFFF => "stored with a warning",
        _ => "refused",
    }
}

/// Splits pending instances into STOW-RS requests of at most `max_count` instances and
/// `max_bytes` bytes; an instance larger than `max_bytes` goes alone.
pub(super) fn batches(
    pending: &[queue::PendingInstance],
    max_count: usize,
    max_bytes: u64,
) -> Vec<&[queue::PendingInstance]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, p) in pending.iter().enumerate() {
        let size = p.size.max(0) as u64;
        if i > start && (i - start >= max_count || bytes + size > max_bytes) {
            out.push(&pending[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < pending.len() {
        out.push(&pending[start..]);
    }
    out
}

/// `pending` with its smallest instance first (the rest in their order): the request that
/// measures the link goes first and short.
pub(super) fn smallest_first(pending: &[queue::PendingInstance]) -> Vec<queue::PendingInstance> {
    let mut out = pending.to_vec();
    if let Some(i) = (0..out.len()).min_by_key(|&i| out[i].size) {
        let smallest = out.remove(i);
        out.insert(0, smallest);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::store::queue::PendingInstance;

    #[test]
    fn batches_respect_count_and_bytes() {
        let p = |size| PendingInstance {
            instance_id: 0,
            sop_instance_uid: String::new(),
            path: String::new(),
            size,
        };
        let pending = [p(10), p(10), p(10), p(100), p(5), p(5), p(5)];
        let probe_first: Vec<i64> = super::smallest_first(&pending)
            .iter()
            .map(|p| p.size)
            .collect();
        assert_eq!(probe_first, [5, 10, 10, 10, 100, 5, 5]);
        let sizes: Vec<usize> = super::batches(&pending, 2, 30)
            .iter()
            .map(|b| b.len())
            .collect();
        // 10+10 | 10 (100 would pass 30) | 100 alone | 5+5 (count) | 5
        assert_eq!(sizes, vec![2, 1, 1, 2, 1]);
        assert!(super::batches(&[], 10, 10).is_empty());
    }
}
