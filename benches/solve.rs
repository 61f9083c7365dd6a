//! The whole solver on a metropolitan-size convention: 150 réservataires × 2,000 segments,
//! 30,000 dwellings, about 40 % structural zeros (commune réservataires hold rights on their own
//! commune only). Target: under 50 ms median.

use std::path::Path;

use convention_flux::flux::scenario::Scenario;
use convention_flux::flux::solver::solve;
use convention_flux::policy::rules::Policy;
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "scenarios/metropolitan.rs"]
mod metropolitan;
use metropolitan::metropolitan_scenario;

fn solve_metropolitan(c: &mut Criterion) {
    let scenario = Scenario::from_json(&metropolitan_scenario()).expect("valid scenario");
    assert_eq!(scenario.segments.len(), 2_000);
    assert_eq!(scenario.reservataires.len(), 150);
    let policy = Policy::load(Path::new("policies"), "national").expect("national policy");
    let report = solve(&scenario, &policy);
    let table = report.table.as_ref().expect("a table");
    let zeros = table.cells.iter().flatten().filter(|c| **c == 0).count();
    eprintln!(
        "flux total {} ; {} cellules dont {} nulles ; {} manquement(s) bloquant(s)",
        report.summary.total_flux,
        table.cells.len() * table.columns.len(),
        zeros,
        report.summary.blocking
    );
    c.bench_function("solve_150x2000_30000", |b| {
        b.iter(|| solve(&scenario, &policy))
    });
}

criterion_group!(benches, solve_metropolitan);
criterion_main!(benches);
