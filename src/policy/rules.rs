//! `policies/national.toml` and local policies that extend it: every rule of the solver with its
//! stable id, severity, limit, legal reference and French message template.

use std::collections::BTreeMap;
use std::path::Path;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{PolicyError, read_policy_text, toml_error_message};

const NATIONAL: &str = "national";
const EMBEDDED_NATIONAL: &str = include_str!("../../policies/national.toml");

/// How a rule's limit reads: a cap not to exceed, a floor to reach, or no number at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    Maximum,
    Minimum,
    /// The limit is the CIA objective of the scenario; a policy limit is a floor under it.
    Objective,
    /// Checked on the territory, without a percentage.
    Structural,
}

/// The rule ids of the public contract (DESIGN §4.2) and the warnings of RULES.md §3.
pub const KNOWN_RULES: &[(&str, LimitKind)] = &[
    ("etat.plafond", LimitKind::Maximum),
    ("etat.fonctionnaires", LimitKind::Maximum),
    ("collectivite.garantie", LimitKind::Maximum),
    ("commune.territoire", LimitKind::Structural),
    ("perimetre.epci", LimitKind::Structural),
    ("segment.total", LimitKind::Maximum),
    ("engagement.prioritaires", LimitKind::Minimum),
    ("cia.q1_hors_qpv", LimitKind::Objective),
    ("cia.non_q1_qpv", LimitKind::Objective),
    ("cia.reprise", LimitKind::Structural),
    ("cia.engagements_bailleur", LimitKind::Structural),
    ("etat.hors_qpv", LimitKind::Minimum),
    ("etat.repartition", LimitKind::Maximum),
    ("representativite", LimitKind::Maximum),
];

/// The variables a message template may use.
pub const MESSAGE_VARIABLES: &[&str] = &[
    "observed",
    "limit",
    "gap",
    "unit",
    "reservataires",
    "segments",
    "scope",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Bloquant,
    Alerte,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: String,
    pub kind: LimitKind,
    pub severity: Severity,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub limit: Option<Decimal>,
    pub reference: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    pub id: String,
    pub month: u32,
    pub day: u32,
    pub reference: String,
    pub description: String,
}

/// A policy as loaded, extended and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub id: String,
    pub name: String,
    pub extends: Option<String>,
    pub rules: Vec<Rule>,
    pub deadlines: Vec<Deadline>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    policy: Header,
    #[serde(default)]
    rule: Vec<RuleEntry>,
    #[serde(default)]
    deadline: Vec<Deadline>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    id: String,
    name: String,
    extends: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    id: String,
    severity: Option<Severity>,
    limit: Option<String>,
    reference: Option<String>,
    message: Option<String>,
}

impl Policy {
    /// Loads the policy `id` from `dir` (`{id}.toml`; the national one is also embedded).
    pub fn load(dir: &Path, id: &str) -> Result<Self, PolicyError> {
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(PolicyError::Invalid {
                file: format!("{id}.toml"),
                message: "identifiant de politique invalide (lettres, chiffres, - et _)".into(),
            });
        }
        let file_name = format!("{id}.toml");
        let (file, text) = if id == NATIONAL {
            read_policy_text(dir, &file_name, EMBEDDED_NATIONAL)?
        } else {
            let path = dir.join(&file_name);
            let text = std::fs::read_to_string(&path).map_err(|source| PolicyError::Read {
                file: path.display().to_string(),
                source,
            })?;
            (path.display().to_string(), text)
        };
        let invalid = |message: String| PolicyError::Invalid {
            file: file.clone(),
            message,
        };
        let parsed: PolicyFile =
            toml::from_str(&text).map_err(|e| invalid(toml_error_message(&e)))?;
        if parsed.policy.id != id {
            return Err(invalid(format!(
                "policy.id vaut « {} » alors que le fichier s'appelle {file_name}",
                parsed.policy.id
            )));
        }
        let base = match parsed.policy.extends.as_deref() {
            None => None,
            Some(NATIONAL) => Some(Policy::load(dir, NATIONAL)?),
            Some(other) => {
                return Err(invalid(format!(
                    "policy.extends : « {other} » ; une politique locale étend « national »"
                )));
            }
        };
        Policy::build(parsed, base).map_err(invalid)
    }

    /// Parses the national policy text (for tests and `check`).
    pub fn parse_national(text: &str) -> Result<Self, String> {
        let parsed: PolicyFile = toml::from_str(text).map_err(|e| toml_error_message(&e))?;
        Policy::build(parsed, None)
    }

    fn build(file: PolicyFile, base: Option<Policy>) -> Result<Self, String> {
        let mut rules: BTreeMap<String, Rule> = base
            .as_ref()
            .map(|b| b.rules.iter().map(|r| (r.id.clone(), r.clone())).collect())
            .unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        for (index, entry) in file.rule.into_iter().enumerate() {
            let at = format!("rule[{index}] ({})", entry.id);
            if !seen.insert(entry.id.clone()) {
                return Err(format!("{at} : règle définie deux fois"));
            }
            let kind = KNOWN_RULES
                .iter()
                .find(|(id, _)| *id == entry.id)
                .map(|(_, kind)| *kind)
                .ok_or_else(|| {
                    let ids: Vec<&str> = KNOWN_RULES.iter().map(|(id, _)| *id).collect();
                    format!(
                        "{at} : identifiant de règle inconnu (règles connues : {})",
                        ids.join(", ")
                    )
                })?;
            let rule = match rules.get(&entry.id) {
                Some(national) => tighten(national, entry, &at)?,
                None if base.is_some() => unreachable_rule(&at)?,
                None => new_rule(entry, kind, &at)?,
            };
            rules.insert(rule.id.clone(), rule);
        }
        if base.is_none() {
            let missing: Vec<&str> = KNOWN_RULES
                .iter()
                .map(|(id, _)| *id)
                .filter(|id| !rules.contains_key(*id))
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "règles absentes de la politique nationale : {}",
                    missing.join(", ")
                ));
            }
        }
        let mut deadlines = base.map(|b| b.deadlines).unwrap_or_default();
        for (index, deadline) in file.deadline.into_iter().enumerate() {
            if chrono::NaiveDate::from_ymd_opt(2025, deadline.month, deadline.day).is_none() {
                return Err(format!(
                    "deadline[{index}] ({}) : {}/{} n'est pas une date de l'année",
                    deadline.id, deadline.day, deadline.month
                ));
            }
            deadlines.retain(|d| d.id != deadline.id);
            deadlines.push(deadline);
        }
        if file.policy.name.trim().is_empty() {
            return Err("policy.name : le nom de la politique est obligatoire".into());
        }
        Ok(Policy {
            id: file.policy.id,
            name: file.policy.name,
            extends: file.policy.extends,
            rules: rules.into_values().collect(),
            deadlines,
        })
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// SHA-256 of the canonical JSON of the resolved policy: two reports with the same digest
    /// were checked against the same rules.
    pub fn digest(&self) -> String {
        let canonical = serde_json::to_string(self).unwrap_or_default();
        format!("sha256:{:x}", Sha256::digest(canonical.as_bytes()))
    }
}

fn unreachable_rule(at: &str) -> Result<Rule, String> {
    Err(format!("{at} : règle absente de la politique nationale"))
}

fn parse_percent(value: &str, at: &str) -> Result<Decimal, String> {
    let limit: Decimal = value.trim().parse().map_err(|_| {
        format!("{at}.limit : « {value} » n'est pas un nombre décimal (ex. \"30\" ou \"12.5\")")
    })?;
    if limit < Decimal::ZERO || limit > Decimal::ONE_HUNDRED {
        return Err(format!(
            "{at}.limit : {limit} n'est pas un pourcentage entre 0 et 100"
        ));
    }
    Ok(limit)
}

fn new_rule(entry: RuleEntry, kind: LimitKind, at: &str) -> Result<Rule, String> {
    let severity = entry
        .severity
        .ok_or_else(|| format!("{at} : gravité (severity) obligatoire"))?;
    let limit = entry
        .limit
        .as_deref()
        .map(|v| parse_percent(v, at))
        .transpose()?;
    if matches!(kind, LimitKind::Maximum | LimitKind::Minimum) && limit.is_none() {
        return Err(format!(
            "{at} : limite (limit) obligatoire pour cette règle"
        ));
    }
    let reference = entry.reference.unwrap_or_default();
    if reference.trim().is_empty() {
        return Err(format!("{at} : référence légale (reference) obligatoire"));
    }
    let message = entry.message.unwrap_or_default();
    check_template(&message, at)?;
    Ok(Rule {
        id: entry.id,
        kind,
        severity,
        limit,
        reference,
        message,
    })
}

/// A local policy may only make a national rule stricter.
fn tighten(national: &Rule, entry: RuleEntry, at: &str) -> Result<Rule, String> {
    if entry.reference.is_some() {
        return Err(format!(
            "{at} : la référence légale d'une règle nationale ne peut pas être modifiée"
        ));
    }
    let mut rule = national.clone();
    if let Some(severity) = entry.severity {
        if national.severity == Severity::Bloquant && severity == Severity::Alerte {
            return Err(format!(
                "{at} : une règle bloquante ne peut pas devenir une alerte"
            ));
        }
        rule.severity = severity;
    }
    if let Some(value) = entry.limit.as_deref() {
        let limit = parse_percent(value, at)?;
        let looser = match (national.kind, national.limit) {
            (LimitKind::Maximum, Some(n)) => limit > n,
            (LimitKind::Minimum | LimitKind::Objective, Some(n)) => limit < n,
            (LimitKind::Structural, _) => {
                return Err(format!("{at} : cette règle n'a pas de limite chiffrée"));
            }
            _ => false,
        };
        if looser {
            return Err(format!(
                "{at} : la limite {limit} assouplit la règle nationale ({}) ; une politique locale ne peut que la durcir",
                national.limit.map(|l| l.to_string()).unwrap_or_default()
            ));
        }
        rule.limit = Some(limit);
    }
    if let Some(message) = entry.message {
        check_template(&message, at)?;
        rule.message = message;
    }
    Ok(rule)
}

/// Every `{name}` of a template must be a known variable, and braces must pair.
fn check_template(message: &str, at: &str) -> Result<(), String> {
    if message.trim().is_empty() {
        return Err(format!("{at} : message obligatoire"));
    }
    let mut rest = message;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("{at}.message : accolade ouvrante sans accolade fermante"))?;
        let name = &after[..close];
        if !MESSAGE_VARIABLES.contains(&name) {
            return Err(format!(
                "{at}.message : variable {{{name}}} inconnue (variables admises : {})",
                MESSAGE_VARIABLES.join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!(
            "{at}.message : accolade fermante sans accolade ouvrante"
        ));
    }
    Ok(())
}

/// Fills a message template.
pub fn render_message(template: &str, values: &[(&str, String)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Loads and checks every policy file of `dir` (and the embedded national one).
pub fn check_directory(dir: &Path) -> Result<Vec<Policy>, PolicyError> {
    let mut ids = vec![NATIONAL.to_owned()];
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".toml").map(str::to_owned))
            .filter(|n| n != NATIONAL && n != "experiment")
            .collect();
        names.sort();
        ids.extend(names);
    }
    ids.iter().map(|id| Policy::load(dir, id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn national() -> Policy {
        Policy::parse_national(EMBEDDED_NATIONAL).unwrap()
    }

    #[test]
    fn the_national_policy_has_every_contract_rule() {
        let policy = national();
        for (id, kind) in KNOWN_RULES {
            let rule = policy.rule(id).unwrap();
            assert_eq!(rule.kind, *kind);
            assert!(!rule.reference.is_empty());
        }
        assert_eq!(
            policy.rule("etat.plafond").unwrap().limit,
            Some(Decimal::from(30))
        );
        assert_eq!(
            policy.rule("etat.fonctionnaires").unwrap().limit,
            Some(Decimal::from(5))
        );
        assert_eq!(
            policy.rule("collectivite.garantie").unwrap().limit,
            Some(Decimal::from(20))
        );
        assert_eq!(
            policy.rule("engagement.prioritaires").unwrap().limit,
            Some(Decimal::from(25))
        );
        assert_eq!(policy.deadlines.len(), 2);
    }

    #[test]
    fn the_digest_changes_with_any_rule() {
        let a = national();
        let mut b = a.clone();
        b.rules[0].message.push('.');
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.digest(), national().digest());
        assert!(a.digest().starts_with("sha256:"));
    }

    #[test]
    fn errors_name_the_rule_and_the_key() {
        let unknown_var =
            EMBEDDED_NATIONAL.replace("{observed} % du flux annuel du bailleur", "{observe} %");
        assert!(
            Policy::parse_national(&unknown_var)
                .unwrap_err()
                .contains("variable {observe} inconnue")
        );
        let bad_limit = EMBEDDED_NATIONAL.replace(
            "limit = \"30\"\nreference = \"CCH, art. R.441-5-2\"",
            "limit = \"trente\"\nreference = \"CCH, art. R.441-5-2\"",
        );
        assert!(
            Policy::parse_national(&bad_limit)
                .unwrap_err()
                .contains("etat.plafond")
        );
        let unknown_rule = format!(
            "{EMBEDDED_NATIONAL}\n[[rule]]\nid = \"etat.inconnu\"\nseverity = \"alerte\"\nreference = \"x\"\nmessage = \"m\"\n"
        );
        assert!(
            Policy::parse_national(&unknown_rule)
                .unwrap_err()
                .contains("identifiant de règle inconnu")
        );
        let missing =
            EMBEDDED_NATIONAL.replace("id = \"etat.repartition\"", "id = \"etat.hors_qpv\"");
        assert!(
            Policy::parse_national(&missing)
                .unwrap_err()
                .contains("deux fois")
        );
        let bad_severity =
            EMBEDDED_NATIONAL.replacen("severity = \"bloquant\"", "severity = \"grave\"", 1);
        assert!(Policy::parse_national(&bad_severity).is_err());
    }

    #[test]
    fn a_local_policy_tightens_and_cannot_loosen() {
        let dir = tempfile::tempdir().unwrap();
        let write = |text: &str| std::fs::write(dir.path().join("local.toml"), text).unwrap();
        write(
            "[policy]\nid = \"local\"\nname = \"L\"\nextends = \"national\"\n[[rule]]\nid = \"cia.q1_hors_qpv\"\nlimit = \"30\"\n[[rule]]\nid = \"etat.hors_qpv\"\nseverity = \"bloquant\"\n",
        );
        let local = Policy::load(dir.path(), "local").unwrap();
        assert_eq!(
            local.rule("cia.q1_hors_qpv").unwrap().limit,
            Some(Decimal::from(30))
        );
        assert_eq!(
            local.rule("etat.hors_qpv").unwrap().severity,
            Severity::Bloquant
        );
        assert_eq!(
            local.rule("etat.plafond").unwrap().limit,
            Some(Decimal::from(30))
        );
        assert_ne!(local.digest(), national().digest());
        write(
            "[policy]\nid = \"local\"\nname = \"L\"\nextends = \"national\"\n[[rule]]\nid = \"etat.plafond\"\nlimit = \"35\"\n",
        );
        let error = Policy::load(dir.path(), "local").unwrap_err().to_string();
        assert!(error.contains("assouplit"), "{error}");
        write(
            "[policy]\nid = \"local\"\nname = \"L\"\nextends = \"national\"\n[[rule]]\nid = \"etat.plafond\"\nseverity = \"alerte\"\n",
        );
        assert!(
            Policy::load(dir.path(), "local")
                .unwrap_err()
                .to_string()
                .contains("ne peut pas devenir")
        );
        write("[policy]\nid = \"autre\"\nname = \"L\"\n");
        assert!(
            Policy::load(dir.path(), "local")
                .unwrap_err()
                .to_string()
                .contains("s'appelle")
        );
        assert!(Policy::load(dir.path(), "../etc").is_err());
    }

    #[test]
    fn the_shipped_policies_all_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let policies = check_directory(&dir).unwrap();
        assert!(policies.iter().any(|p| p.id == "local-exemple"));
    }

    #[test]
    fn messages_are_filled() {
        let text = render_message(
            "{observed} % > {limit} %",
            &[("observed", "31".into()), ("limit", "30".into())],
        );
        assert_eq!(text, "31 % > 30 %");
    }
}
