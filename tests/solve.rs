//! `convention-flux solve` and `check` as a user runs them (DESIGN §4.4): exit 0 with a report,
//! exit 2 with a French message naming the JSON path; the worked example's report is the one
//! shipped under `examples/`.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_convention-flux");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(root())
        .env_remove("CONVENTION_FLUX_CONFIG")
        .env("CONVENTION_FLUX_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn example() -> String {
    std::fs::read_to_string(root().join("examples/scenario-exemple.json")).unwrap()
}

#[test]
fn the_worked_example_report_is_the_shipped_one() {
    let output = run(&["solve", "examples/scenario-exemple.json"], None);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let shipped: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/scenario-exemple.rapport.json")).unwrap(),
    )
    .unwrap();
    assert!(
        report == shipped,
        "examples/scenario-exemple.rapport.json is stale: regenerate it with `cargo run -- solve examples/scenario-exemple.json > examples/scenario-exemple.rapport.json`"
    );
    let rules: Vec<&str> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"etat.plafond") && rules.contains(&"collectivite.garantie"),
        "{rules:?}"
    );
    assert_eq!(report["table"]["based_on"], "compromise");
    let text = run(
        &[
            "solve",
            "examples/scenario-exemple.json",
            "--format",
            "text",
        ],
        None,
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("[BLOQUANT] etat.plafond — CCH, art. R.441-5-2"),
        "{text}"
    );
    assert!(text.contains("Compromis proposé"), "{text}");
}

#[test]
fn a_report_is_exit_0_whatever_its_breaches_and_bad_input_is_exit_2() {
    let fixed = example().replace(
        "\"share\": \"30\", \"scope\": null",
        "\"share\": \"25\", \"scope\": null",
    );
    let output = run(&["solve", "-"], Some(&fixed));
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        report["violations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["rule"] != "etat.plafond")
    );
    let bad = example().replace("\"flux\": 42", "\"flux\": \"42\"");
    let output = run(&["solve", "-"], Some(&bad));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("champ segments[1].flux"), "{stderr}");
    assert!(output.stdout.is_empty());
    let unknown_policy =
        example().replace("\"policy\": \"national\"", "\"policy\": \"inexistante\"");
    let output = run(&["solve", "-"], Some(&unknown_policy));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("champ policy"));
    let output = run(&["solve", "absent.json"], None);
    assert_eq!(output.status.code(), Some(2));
    let output = run(&["solve", "-"], Some("pas du JSON"));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("ligne 1"));
}

#[test]
fn a_local_policy_is_stricter_and_has_its_own_digest() {
    let local = example().replace("\"policy\": \"national\"", "\"policy\": \"local-exemple\"");
    let national: Value =
        serde_json::from_slice(&run(&["solve", "-"], Some(&example())).stdout).unwrap();
    let output = run(&["solve", "-"], Some(&local));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_ne!(report["policy_digest"], national["policy_digest"]);
    let priority: Vec<&Value> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["rule"] == "engagement.prioritaires")
        .collect();
    assert!(priority.iter().all(|v| v["limit"] == "30"), "{priority:?}");
    assert!(
        priority.len() > 1,
        "the local 30 % minimum catches more réservataires than the national 25 %"
    );
}

#[test]
fn check_validates_every_policy_and_names_the_faulty_key() {
    let output = run(&["check"], None);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("national.toml : valide") && stdout.contains("local-exemple.toml : valide"),
        "{stdout}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("local.toml"),
        "[policy]\nid = \"local\"\nname = \"L\"\nextends = \"national\"\n[[rule]]\nid = \"etat.plafond\"\nlimit = \"40\"\n",
    )
    .unwrap();
    let output = Command::new(BIN)
        .arg("check")
        .env("CONVENTION_FLUX_POLICIES_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("etat.plafond") && stderr.contains("assouplit"),
        "{stderr}"
    );
}
