//! Biproportional apportionment at the target size (150 réservataires × 2,000 segments, 30,000
//! dwellings, about 40 % structural zeros: commune réservataires hold rights on their own commune
//! only) and a stress size (1,000 × 10,000). Targets: well under 50 ms median for the first,
//! under 2 s and 200 MB peak for the second. A counting allocator measures the peak memory of
//! one solve; it is printed before the timings.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use convention_flux::flux::apportion::{WeightMatrix, biproportional, sainte_lague};
use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                    - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// SplitMix64: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A share in percent with four decimals, from `low` to `high` ten-thousandths of a percent.
    fn share(&mut self, low: u64, high: u64) -> Decimal {
        Decimal::new((low + self.below(high - low)) as i64, 4)
    }
}

struct Case {
    weights: WeightMatrix,
    row_totals: Vec<u64>,
    column_totals: Vec<u64>,
}

/// Segments: 20 per commune (5 typologies × QPV or not × 2 financings). Rows: one réservataire
/// per commune for the first `commune_rows` communes (its commune only), `global_rows` with
/// rights everywhere (the first is the State at 25 %), `scoped_rows` on a random fifth of the
/// communes, and the bailleur's unreserved flux last.
fn case(
    communes: usize,
    commune_rows: usize,
    global_rows: usize,
    scoped_rows: usize,
    total: u64,
    seed: u64,
) -> Case {
    let mut rng = Rng(seed);
    // Other réservataires share about 40 % (under 1 % each) besides the State's 25 %.
    let global_share = 600_000 / global_rows.max(1) as u64;
    let cols = communes * 20;
    let sizes: Vec<Decimal> = (0..cols)
        .map(|_| Decimal::from(1 + rng.below(40)))
        .collect();
    let column_totals = sainte_lague(total, &sizes).expect("segment fluxes").seats;
    let rows = commune_rows + global_rows + scoped_rows + 1;
    let mut reserved = vec![Decimal::ZERO; cols];
    let mut cells: Vec<(u32, u32, Decimal)> = Vec::new();
    let mut add = |row: usize, col: usize, share: Decimal, reserved: &mut [Decimal]| {
        let weight = share * Decimal::from(column_totals[col]) / Decimal::ONE_HUNDRED;
        if weight > Decimal::ZERO {
            reserved[col] += weight;
            cells.push((row as u32, col as u32, weight));
        }
    };
    for c in 0..commune_rows {
        let share = rng.share(50_000, 200_000);
        for col in c * 20..(c + 1) * 20 {
            add(c, col, share, &mut reserved);
        }
    }
    for g in 0..global_rows {
        let row = commune_rows + g;
        let share = if g == 0 {
            Decimal::from(25)
        } else {
            rng.share(1, global_share)
        };
        for col in 0..cols {
            // The State's rate in QPV segments is 20 %.
            let in_qpv = col % 4 >= 2;
            let s = if g == 0 && in_qpv {
                Decimal::from(20)
            } else {
                share
            };
            add(row, col, s, &mut reserved);
        }
    }
    for s in 0..scoped_rows {
        let row = commune_rows + global_rows + s;
        let share = rng.share(1, 2_000);
        for c in 0..communes {
            if rng.below(5) == 0 {
                for col in c * 20..(c + 1) * 20 {
                    add(row, col, share, &mut reserved);
                }
            }
        }
    }
    for (col, r) in reserved.iter().enumerate() {
        let free = Decimal::from(column_totals[col]) - r;
        assert!(free >= Decimal::ZERO, "shares over 100 % in segment {col}");
        if free > Decimal::ZERO {
            cells.push(((rows - 1) as u32, col as u32, free));
        }
    }
    let mut row_weights = vec![Decimal::ZERO; rows];
    for (r, _, w) in &cells {
        row_weights[*r as usize] += w;
    }
    let row_totals = sainte_lague(total, &row_weights).expect("row totals").seats;
    Case {
        weights: WeightMatrix { rows, cols, cells },
        row_totals,
        column_totals,
    }
}

fn metropolitan() -> Case {
    case(100, 60, 89, 0, 30_000, 0x5EED_0001)
}

fn stress() -> Case {
    case(500, 400, 100, 499, 150_000, 0x5EED_0002)
}

/// One solve, timed, with its peak allocation above what was live before it.
fn report(name: &str, c: &Case) {
    let zeros = 1.0 - c.weights.cells.len() as f64 / (c.weights.rows * c.weights.cols) as f64;
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let start = Instant::now();
    let table = biproportional(&c.weights, &c.row_totals, &c.column_totals).expect("table");
    let elapsed = start.elapsed();
    let peak = PEAK.load(Ordering::Relaxed);
    println!(
        "{name}: {} × {}, {} weights ({:.0} % structural zeros), {} ties; one solve {:.1} ms; \
         peak memory {:.1} MB in all, {:.1} MB for the solve (input {:.1} MB)",
        c.weights.rows,
        c.weights.cols,
        c.weights.cells.len(),
        zeros * 100.0,
        table.ties.len(),
        elapsed.as_secs_f64() * 1000.0,
        peak as f64 / 1e6,
        (peak - before) as f64 / 1e6,
        before as f64 / 1e6,
    );
}

fn metropolitan_bench(criterion: &mut Criterion) {
    criterion.bench_function("biproportional 150 × 2,000", |b| {
        static CASE: OnceLock<Case> = OnceLock::new();
        let case = CASE.get_or_init(|| {
            let case = metropolitan();
            report("metropolitan", &case);
            case
        });
        b.iter(|| {
            biproportional(
                black_box(&case.weights),
                &case.row_totals,
                &case.column_totals,
            )
        })
    });
}

fn stress_bench(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("stress");
    group.sample_size(10);
    group.bench_function("biproportional 1,000 × 10,000", |b| {
        static CASE: OnceLock<Case> = OnceLock::new();
        let case = CASE.get_or_init(|| {
            let case = stress();
            report("stress", &case);
            case
        });
        b.iter(|| {
            biproportional(
                black_box(&case.weights),
                &case.row_totals,
                &case.column_totals,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, metropolitan_bench, stress_bench);
criterion_main!(benches);
