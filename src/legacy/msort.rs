//! glibc's `qsort`, which ipvsadm sorts with: its result for a comparator that is not a total
//! order is part of ipvsadm's output.

/// glibc 2.36's `qsort` (`msort_with_tmp`): a top-down merge sort that sorts the first `n / 2`
/// elements and the remaining ones recursively, then merges them taking the left element when
/// `cmp(left, right) <= 0`. Any comparator is fine, including one that is not a total order (the
/// result is then whatever glibc's merge gives); it never panics.
///
/// glibc falls back to a quicksort only when it cannot allocate the temporary array (larger than
/// physical memory, or malloc failing), which ipvsadm's tables never reach.
pub fn glibc_msort<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    // Sort positions, as glibc does for elements larger than 32 bytes, then apply the result.
    let mut order: Vec<usize> = (0..n).collect();
    let mut tmp: Vec<usize> = Vec::with_capacity(n);
    msort_indices(&mut order, &mut tmp, &|i, j| cmp(&v[i], &v[j]));
    apply_gather(v, &order);
}

fn msort_indices(b: &mut [usize], tmp: &mut Vec<usize>, cmp: &dyn Fn(usize, usize) -> i32) {
    let n = b.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    msort_indices(&mut b[..n1], tmp, cmp);
    msort_indices(&mut b[n1..], tmp, cmp);

    tmp.clear();
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(b[i], b[j]) <= 0 {
            tmp.push(b[i]);
            i += 1;
        } else {
            tmp.push(b[j]);
            j += 1;
        }
    }
    tmp.extend_from_slice(&b[i..n1]);
    // What is left of the right half is already in place.
    let merged = tmp.len();
    b[..merged].copy_from_slice(tmp);
}

/// Reorders `v` so that `v[k]` becomes the old `v[order[k]]`; `order` is a permutation.
fn apply_gather<T>(v: &mut [T], order: &[usize]) {
    let mut done = vec![false; v.len()];
    for start in 0..v.len() {
        if done[start] {
            continue;
        }
        let mut cur = start;
        loop {
            done[cur] = true;
            let next = order[cur];
            if next == start {
                break;
            }
            v.swap(cur, next);
            cur = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msort_is_stable_and_sorts() {
        let mut v: Vec<(i32, usize)> = [5, 3, 5, 1, 3, 9, 0, 5]
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, i))
            .collect();
        glibc_msort(&mut v, |a, b| a.0 - b.0);
        assert_eq!(
            v,
            [
                (0, 6),
                (1, 3),
                (3, 1),
                (3, 4),
                (5, 0),
                (5, 2),
                (5, 7),
                (9, 5)
            ]
        );
        // A comparator that answers at random does not panic either.
        let state = std::cell::Cell::new(99u32);
        let mut w: Vec<u32> = (0..257).collect();
        glibc_msort(&mut w, |_, _| {
            let r = state.get().wrapping_mul(1_103_515_245).wrapping_add(12345);
            state.set(r);
            (r >> 16) as i32 - 16384
        });
        w.sort_unstable();
        assert_eq!(w, (0..257).collect::<Vec<u32>>());
    }
}
