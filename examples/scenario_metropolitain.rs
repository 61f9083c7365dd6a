//! Écrit le scénario du banc d'essai du solveur (`benches/solve.rs`) : 150 réservataires ×
//! 2 000 segments, 30 000 logements, environ 40 % de zéros structurels. Sert à mesurer la
//! commande entière (`docs/performance.md`) :
//!
//! ```text
//! cargo run --release --example scenario_metropolitain -- /tmp/metropole.json
//! hyperfine 'target/release/convention-flux solve /tmp/metropole.json'
//! ```
//!
//! Sans argument, le scénario est écrit sur la sortie standard.

use std::process::ExitCode;

#[path = "../benches/scenarios/metropolitan.rs"]
mod metropolitan;

fn main() -> ExitCode {
    let scenario = metropolitan::metropolitan_scenario();
    match std::env::args_os().nth(1) {
        None => {
            println!("{scenario}");
            ExitCode::SUCCESS
        }
        Some(path) => match std::fs::write(&path, scenario) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("écriture de {} impossible : {e}", path.to_string_lossy());
                ExitCode::FAILURE
            }
        },
    }
}
