//! The bulge chasing on several threads: pieces of consecutive sweeps in a pipeline.
//!
//! Step j of sweep s touches columns `s + 1 + jb ..= s + jb + 2b` ([`step_columns`]), so it
//! overlaps steps j − 1 ..= j + 2 of the sweep before and nothing further on. The chasing
//! stays exact, every entry seeing the same operations in the same order as one sweep after
//! another, when step j of sweep s + 1 waits for step j + 2 of sweep s:
//! - **within a piece**, on one thread, the steps go by waves: wave w runs step w − 3i of
//!   the piece's i-th sweep, so a wave's steps lie 3b columns apart;
//! - **between pieces**, taken in turn by the threads, the first sweep of a piece waits,
//!   step by step, for the last sweep of the piece before ([`wait_for`]).
//!
//! A piece's last sweep starts 3 steps per sweep after its first, and the next piece waits
//! for it: [`plan`] keeps pieces short next to their sweeps' steps. The thread that
//! finishes the last of a group's pieces hands the group's reflectors to `finish` (which
//! builds its blocks, [`super::blocks`]) while the other goes on chasing.
//!
//! The band is held in blocks of b columns, each behind a lock that a step takes for the
//! two or three blocks its columns span. Two threads' steps are at least b columns apart,
//! so the locks are never waited on: they are what lets safe code hand the same band to
//! both threads.
//!
//! Measured on this project's 2-core machine (`scripts/ab_stages.py`, 7 runs each, min /
//! median): the bulge stage of `twostage-f64` at 2000×3000 0.199 / 0.225 s against 0.305 /
//! 0.327 s for one thread chasing while the other built the blocks, of `values-f64` 0.139 /
//! 0.167 s against 0.236 / 0.282 s for one thread. One sweep after another on one thread, the same
//! steps take 5–10% less than by pieces behind locks (a scratch timing at n = 2000, b = 32),
//! so one thread keeps [`Band::bidiagonalize`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::bulge::{step, step_columns, steps, Band, Chased, Columns};
use crate::Scalar;

/// Chases `band` to bidiagonal form on `threads` threads (at least 1), the sweeps in groups
/// of `group`, and returns the diagonal and superdiagonal in f64 with `finish` of each
/// group's reflectors, in the groups' order. With `keep` false no reflector is kept, and
/// `finish` sees empty sequences.
pub(crate) fn chase_groups<T: Scalar, R: Send>(
    band: Band<T>,
    group: usize,
    threads: usize,
    keep: bool,
    finish: &(dyn Fn(Chased<T>) -> R + Sync),
) -> (Vec<f64>, Vec<f64>, Vec<R>) {
    let (n, b, ld) = (band.n, band.b, band.ld);
    let group = group.max(1);
    let sweeps = if b > 1 { n.saturating_sub(2) } else { 0 };
    let groups = sweeps.div_ceil(group);
    let plan = plan(n, b, group, sweeps);
    let blocks: Vec<Mutex<Vec<T>>> = band
        .data
        .chunks(b * ld)
        .map(|c| Mutex::new(c.to_vec()))
        .collect();
    drop(band.data);
    let shared = Shared {
        n,
        b,
        ld,
        blocks,
        next: AtomicUsize::new(0),
        progress: plan.iter().map(|_| AtomicUsize::new(0)).collect(),
        plan,
        pending: (0..groups).map(|_| Mutex::new(Vec::new())).collect(),
        results: Mutex::new((0..groups).map(|_| None).collect()),
    };
    let work = || {
        let _release = Release(&shared.progress);
        loop {
            let p = shared.next.fetch_add(1, Ordering::Relaxed);
            if p >= shared.plan.len() {
                break;
            }
            let kept = pulp::Arch::new().dispatch(Piece {
                shared: &shared,
                p,
                keep,
            });
            // The piece's reflectors join its group's; the thread that completes a group
            // finishes it.
            let (first, count) = shared.plan[p];
            let g = first / group;
            let complete = {
                let mut pending = lock(&shared.pending[g]);
                pending.push((first, count, kept));
                let done: usize = pending.iter().map(|part| part.1).sum();
                (done == group.min(sweeps - g * group)).then(|| std::mem::take(&mut *pending))
            };
            if let Some(mut parts) = complete {
                parts.sort_by_key(|part| part.0);
                let parts = parts.into_iter().flat_map(|part| part.2).collect();
                let result = finish(Chased::concat(parts, b));
                lock(&shared.results)[g] = Some(result);
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads.max(1) {
            scope.spawn(work);
        }
        work();
    });
    let Shared {
        blocks, results, ..
    } = shared;
    let blocks: Vec<Vec<T>> = blocks
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect();
    let at = |r: usize, c: usize| blocks[c / b][(c % b) * ld + r + 2 * b - c].to_f64();
    let d = (0..n).map(|i| at(i, i)).collect();
    let f = (1..n).map(|i| at(i - 1, i)).collect();
    let results = results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every group was chased"))
        .collect();
    (d, f, results)
}

/// The pieces a thread takes in turn, `(first sweep, sweeps)`: each group of `group` sweeps
/// cut into even pieces of at most a [`PIECE_WAVES`]-th of the steps of the group's first
/// sweep (and at least one). A piece's last sweep starts three steps per sweep after its
/// first, and the next piece's first sweep waits for it; short sweeps in long pieces would
/// leave the other thread waiting.
fn plan(n: usize, b: usize, group: usize, sweeps: usize) -> Vec<(usize, usize)> {
    let mut plan = Vec::new();
    for start in (0..sweeps).step_by(group) {
        let len = group.min(sweeps - start);
        let most = (steps(n, b, start) / PIECE_WAVES).clamp(1, len);
        // Pieces of one size within a group: a short piece after a long one would hold
        // its thread to the long piece's pace.
        let size = len.div_ceil(len.div_ceil(most));
        for first in (start..start + len).step_by(size) {
            plan.push((first, size.min(start + len - first)));
        }
    }
    plan
}

/// See [`plan`].
const PIECE_WAVES: usize = 6;

/// What the threads share.
struct Shared<T, R> {
    n: usize,
    b: usize,
    ld: usize,
    /// The band by blocks of b columns, in [`Band`]'s layout.
    blocks: Vec<Mutex<Vec<T>>>,
    /// The pieces, as [`plan`] cuts them.
    plan: Vec<(usize, usize)>,
    /// The next piece to take.
    next: AtomicUsize,
    /// For each piece, the steps its last sweep has done; `usize::MAX` once it is done.
    progress: Vec<AtomicUsize>,
    /// For each group, the pieces chased so far: `(first sweep, sweeps, reflectors)`.
    #[allow(clippy::type_complexity)]
    pending: Vec<Mutex<Vec<(usize, usize, Vec<Chased<T>>)>>>,
    results: Mutex<Vec<Option<R>>>,
}

/// Locks `m`; a lock poisoned by a panic elsewhere (which the scope carries on) still opens.
fn lock<X: ?Sized>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits until `progress` reaches `need`: spinning a while, then yielding, so that threads
/// that outnumber the cores still let the awaited one run.
fn wait_for(progress: &AtomicUsize, need: usize) {
    let mut spins = 0u32;
    while progress.load(Ordering::Acquire) < need {
        if spins < 1 << 12 {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

/// Marks every group done when a thread unwinds, so that none waits forever on it; the
/// panic itself goes on to the scope's caller.
struct Release<'a>(&'a [AtomicUsize]);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for p in self.0 {
                p.store(usize::MAX, Ordering::Release);
            }
        }
    }
}

/// The columns of one step, from the blocks they lie in.
struct Window<'a, T> {
    /// The first column of the first block.
    base: usize,
    b: usize,
    ld: usize,
    parts: [&'a mut [T]; 3],
}

impl<T: Scalar> Columns<T> for Window<'_, T> {
    #[inline(always)]
    fn col(&mut self, c: usize, rows: std::ops::RangeInclusive<usize>) -> &mut [T] {
        let (k, at) = self.place(c);
        let start = at + *rows.start() + 2 * self.b - c;
        let end = at + *rows.end() + 2 * self.b - c;
        &mut self.parts[k][start..=end]
    }

    #[inline(always)]
    fn entry(&mut self, r: usize, c: usize) -> &mut T {
        let (k, at) = self.place(c);
        &mut self.parts[k][at + r + 2 * self.b - c]
    }
}

impl<T> Window<'_, T> {
    /// The part column `c` lies in, and where it starts there.
    #[inline(always)]
    fn place(&self, c: usize) -> (usize, usize) {
        let local = c - self.base;
        let k = usize::from(local >= self.b) + usize::from(local >= 2 * self.b);
        (k, (local - k * self.b) * self.ld)
    }
}

/// One piece's sweeps by waves, as a SIMD operation; the reflectors of each sweep.
struct Piece<'a, T, R> {
    shared: &'a Shared<T, R>,
    p: usize,
    keep: bool,
}

impl<T: Scalar, R> pulp::WithSimd for Piece<'_, T, R> {
    type Output = Vec<Chased<T>>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Vec<Chased<T>> {
        let Piece { shared, p, keep } = self;
        let (n, b, ld) = (shared.n, shared.b, shared.ld);
        let (first, count) = shared.plan[p];
        let mut kept: Vec<Chased<T>> = (0..if keep { count } else { 0 })
            .map(|_| Chased::new(b))
            .collect();
        let zero = T::from_f64(0.0);
        let (mut v, mut acc) = (vec![zero; b], vec![zero; 2 * b + 1]);
        let lead = steps(n, b, first);
        let last_steps = steps(n, b, first + count - 1);
        let waves = 3 * (count - 1) + last_steps;
        for w in 0..waves {
            if p > 0 && w < lead {
                // Step w of the first sweep needs step w + 2 of the sweep before.
                wait_for(&shared.progress[p - 1], w + 3);
            }
            for i in 0..count {
                let Some(j) = w.checked_sub(3 * i) else {
                    break;
                };
                let s = first + i;
                if j >= steps(n, b, s) {
                    continue;
                }
                let (c0, ce) = step_columns(n, b, s, j);
                let (lo, hi) = (c0 / b, ce / b);
                let mut guards = [None, None, None];
                for (slot, blk) in guards.iter_mut().zip(lo..=hi) {
                    *slot = Some(lock(&shared.blocks[blk]));
                }
                let mut window = Window {
                    base: lo * b,
                    b,
                    ld,
                    parts: guards.each_mut().map(|g| match g {
                        Some(g) => &mut g[..],
                        None => &mut [][..],
                    }),
                };
                step(&mut window, n, b, s, j, &mut v, &mut acc, kept.get_mut(i));
            }
            if let Some(done) = w.checked_sub(3 * (count - 1)) {
                let done = if done + 1 == last_steps {
                    usize::MAX
                } else {
                    done + 1
                };
                shared.progress[p].store(done, Ordering::Release);
            }
        }
        shared.progress[p].store(usize::MAX, Ordering::Release);
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::bulge::Sequence;
    use crate::values::noise;

    fn band<T: Scalar>(n: usize, b: usize, seed: u64) -> Band<T> {
        let mut band = Band::<T>::zeros(n, b);
        for r in 0..n {
            for c in r..(r + b + 1).min(n) {
                band.set(r, c, T::from_f64(noise(seed + (r * n + c) as u64)));
            }
        }
        band
    }

    fn same<T: Scalar>(want: &Sequence<T>, got: &Sequence<T>) -> bool {
        want.sweeps == got.sweeps
            && want.starts == got.starts
            && want.lens == got.lens
            && want.taus == got.taus
            && want.data == got.data
    }

    /// Threads chasing pieces of sweeps in a pipeline give, to the last bit, the bidiagonal
    /// and the reflectors of one sweep after another: narrow and wide bands, groups that do
    /// and do not divide the sweeps, more threads than this machine has cores, and bands too
    /// small to chase.
    fn exact<T: Scalar>() {
        for (n, b, group, threads) in [
            (300, 12, 16, 2),
            (257, 32, 16, 2),
            (130, 7, 4, 4),
            (60, 8, 16, 3),
            (50, 5, 3, 2),
            (35, 1, 16, 2),
            (3, 2, 16, 2),
            (2, 4, 16, 2),
            (1, 3, 16, 2),
        ] {
            let seed = (n * b) as u64;
            let (d, f, kept) = band::<T>(n, b, seed).bidiagonalize_keeping();
            for keep in [true, false] {
                let (d2, f2, groups) =
                    chase_groups(band::<T>(n, b, seed), group, threads, keep, &|k| k);
                let case = format!("n {n}, b {b}, group {group}, threads {threads}");
                assert!(d == d2 && f == f2, "{case}: the bidiagonal differs");
                let sweeps = if b > 1 { n.saturating_sub(2) } else { 0 };
                assert_eq!(groups.len(), sweeps.div_ceil(group), "{case}");
                for (g, part) in groups.iter().enumerate() {
                    for seq in [&part.left, &part.right] {
                        let want = if keep {
                            g * group..(g + 1) * group
                        } else {
                            0..0
                        };
                        assert!(seq.sweeps.iter().all(|s| want.contains(s)), "{case}");
                    }
                }
                let all = Chased::concat(groups, b);
                if keep {
                    assert!(
                        same(&kept.left, &all.left),
                        "{case}: the left reflectors differ"
                    );
                    assert!(
                        same(&kept.right, &all.right),
                        "{case}: the right ones differ"
                    );
                } else {
                    assert_eq!(all.left.len() + all.right.len(), 0, "{case}");
                }
            }
        }
    }

    #[test]
    fn threads_chase_exactly_as_one_sweep_after_another_f64() {
        exact::<f64>();
    }

    #[test]
    fn threads_chase_exactly_as_one_sweep_after_another_f32() {
        exact::<f32>();
    }

    /// The pieces cover the sweeps in order, each within one group, a group's pieces all
    /// of one size but the last, and none longer than a sixth of the steps of its group's
    /// first sweep (or one sweep).
    #[test]
    fn the_plan_cuts_each_group_into_even_pieces() {
        for (n, b, group) in [(2000, 32, 16), (4000, 48, 16), (300, 12, 5), (40, 2, 16)] {
            let sweeps = n - 2;
            let plan = plan(n, b, group, sweeps);
            let mut next = 0;
            for (at, &(first, count)) in plan.iter().enumerate() {
                assert_eq!(first, next, "n {n}: a gap or an overlap");
                let start = first / group * group;
                assert!(count >= 1 && count <= (steps(n, b, start) / PIECE_WAVES).max(1));
                assert_eq!(
                    first / group,
                    (first + count - 1) / group,
                    "n {n}: across groups"
                );
                if let Some(&(after, more)) = plan.get(at + 1) {
                    if after / group == first / group {
                        assert!(more <= count, "n {n}: a longer piece after a shorter one");
                        let last_of_group = plan
                            .get(at + 2)
                            .is_none_or(|&(f, _)| f / group != first / group);
                        if !last_of_group {
                            assert_eq!(more, count, "n {n}: uneven pieces");
                        }
                    }
                }
                next = first + count;
            }
            assert_eq!(next, sweeps);
            // Long sweeps in long pieces, short ones one by one.
            assert!(plan[0].1 > 1 && plan.last().unwrap().1 == 1, "n {n}");
        }
    }
}
