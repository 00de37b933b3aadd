//! Binary heaps of server indices that track each server's place, so that a server whose
//! key changed can be moved up or down from where it is (the indexes of least-connections,
//! least-response-time and least-work-left). The order is the caller's: `before(a, b)` is
//! whether server `a` belongs above server `b`.

/// Moves `heap[k]` up to its place; `pos` tracks every server's place.
#[inline]
pub(super) fn sift_up(heap: &mut [u32], pos: &mut [u32], mut k: usize, before: impl Fn(u32, u32) -> bool) {
    let s = heap[k];
    while k > 0 {
        let parent = (k - 1) / 2;
        if !before(s, heap[parent]) {
            break;
        }
        heap[k] = heap[parent];
        pos[heap[k] as usize] = k as u32;
        k = parent;
    }
    heap[k] = s;
    pos[s as usize] = k as u32;
}

/// Moves `heap[k]` down to its place; `pos` tracks every server's place.
#[inline]
pub(super) fn sift_down(heap: &mut [u32], pos: &mut [u32], mut k: usize, before: impl Fn(u32, u32) -> bool) {
    let s = heap[k];
    loop {
        let mut child = 2 * k + 1;
        if child >= heap.len() {
            break;
        }
        if child + 1 < heap.len() && before(heap[child + 1], heap[child]) {
            child += 1;
        }
        if !before(heap[child], s) {
            break;
        }
        heap[k] = heap[child];
        pos[heap[k] as usize] = k as u32;
        k = child;
    }
    heap[k] = s;
    pos[s as usize] = k as u32;
}
