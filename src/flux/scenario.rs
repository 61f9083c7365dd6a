//! The solver's input, schema version 1 (DESIGN §4.4, public contract): parsed from JSON, then
//! checked into typed values. Every error names the JSON path of the faulty field, in French.

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::{Basis, InseeCode, ReservataireKind, Siren, Typology};

/// A scenario that cannot be solved, with the path of the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("champ {path} : {message}")]
pub struct ScenarioError {
    pub path: String,
    pub message: String,
}

fn error(path: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        path: path.into(),
        message: message.into(),
    }
}

// ---- The JSON as written (strings for percentages, as the contract says). Public so that a
// version of a convention can hold its scenario in exactly the contract's form. ----

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub schema: u32,
    pub year: i32,
    pub policy: String,
    pub epci: RawEpci,
    pub segments: Vec<RawSegment>,
    pub objectives: RawObjectives,
    pub reservataires: Vec<RawReservataire>,
    pub non_reserve: RawNonReserve,
    /// Clauses by which the convention sets aside a default rule (`etat.hors_qpv`,
    /// `etat.repartition`): "sauf stipulation contraire" in R.441-5-2.
    #[serde(default)]
    pub stipulations: Vec<String>,
    /// The CIA the convention restates (its version, its hash and what it sets): the
    /// convention's objectives may be stricter, never looser; its territorial rates and the
    /// commitments it assigns to the bailleur are checked too. Absent from a scenario that
    /// rests on no CIA recorded on the platform (older versions keep their hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cia: Option<RawCia>,
}

/// The CIA of the EPCI as a convention restates it (DESIGN §4.2, rule `cia.reprise`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCia {
    /// Number of the CIA's version on the platform.
    pub version: u32,
    /// SHA-256 of that version's canonical text.
    pub hash: String,
    /// Date the CIA was concluded (ISO 8601), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concluded_on: Option<String>,
    /// The document's reference (deliberation, date of signature…).
    #[serde(default)]
    pub reference: String,
    /// The CIA's objectives over the whole EPCI.
    pub objectives: RawObjectives,
    /// Stricter rates for a commune or a QPV.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub territorial: Vec<RawTerritorialObjective>,
    /// What the CIA assigns to this convention's bailleur, in households a year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bailleur: Option<RawBailleurCommitments>,
}

/// A territorialised objective of the CIA: `q1_hors_qpv` on a commune's dwellings outside
/// QPV, or `non_q1_qpv` on its dwellings in QPV (a QPV named when it is the commune's only one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTerritorialObjective {
    pub objective: String,
    pub commune: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qpv: Option<String>,
    /// The territory in words (« Vaulx-en-Velin », « quartier Mas du Taureau »).
    pub name: String,
    pub min: String,
}

/// The attributions a CIA assigns to one bailleur for the year, in households, and the
/// relogements its assiette forecasts (planned exclusions NPRU and ORCOD).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBailleurCommitments {
    /// First-quartile households outside QPV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q1_hors_qpv: Option<u64>,
    /// Households recognised under the DALO law (counted in the priority commitments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dalo: Option<u64>,
    /// Households relocated by urban renewal (NPRU) or ORCOD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relogements: Option<u64>,
    /// Relogements the bailleur's assiette forecasts for the year (exclusions NPRU + ORCOD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relogements_prevus: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEpci {
    pub siren: String,
    pub communes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSegment {
    pub id: String,
    pub commune: String,
    pub typology: Option<String>,
    pub qpv: bool,
    pub flux: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawObjectives {
    pub q1_hors_qpv_min: String,
    pub non_q1_qpv_min: String,
    pub priority_min: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReservataire {
    pub id: String,
    pub kind: String,
    pub basis: String,
    pub name: String,
    pub share: String,
    pub scope: Option<Vec<String>>,
    #[serde(default)]
    pub overrides: Vec<RawOverride>,
    pub commitments: RawCommitments,
    /// For a commune, its INSEE code (its rights lie on its own territory); optional.
    pub territory: Option<String>,
    /// Its share of the stock in groups of segments (a typology, in or outside QPV), from the
    /// conversion of the état des lieux (DESIGN §4.5), for the `representativite` warning;
    /// optional, absent from a scenario that does not give it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stock: Vec<RawStockShare>,
}

/// A réservataire's share of the stock (weighted dwellings) in the segments of a typology, or
/// in or outside QPV, or both, in percent of the stock there.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStockShare {
    pub typology: Option<String>,
    pub qpv: Option<bool>,
    pub share: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOverride {
    pub commune: Option<String>,
    pub typology: Option<String>,
    pub qpv: Option<bool>,
    pub share: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCommitments {
    pub priority: String,
    pub q1_hors_qpv: String,
    pub non_q1_qpv: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNonReserve {
    pub commitments: RawCommitments,
}

// ---- The checked scenario. ----

/// A group of segments (a typology, in or outside QPV, or both) and the réservataire's share of
/// the stock there, in percent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockShare {
    pub typology: Option<Typology>,
    pub qpv: Option<bool>,
    pub share: Decimal,
}

impl StockShare {
    /// Whether `segment` belongs to the group.
    pub fn contains(&self, segment: &Segment) -> bool {
        self.typology.is_none_or(|t| segment.typology == Some(t))
            && self.qpv.is_none_or(|q| segment.qpv == q)
    }

    /// « T3 hors QPV », « en QPV ».
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = self.typology {
            parts.push(t.label().to_owned());
        }
        if let Some(q) = self.qpv {
            parts.push(if q { "en QPV" } else { "hors QPV" }.to_owned());
        }
        parts.join(" ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub id: String,
    pub commune: InseeCode,
    pub typology: Option<Typology>,
    pub qpv: bool,
    pub flux: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Objectives {
    pub q1_hors_qpv_min: Decimal,
    pub non_q1_qpv_min: Decimal,
    pub priority_min: Decimal,
}

/// Which attribution objective a territorial rate sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TerritorialKind {
    /// First quartile, on the territory's dwellings outside QPV.
    Q1HorsQpv,
    /// Other quartiles, on the territory's dwellings in QPV.
    NonQ1Qpv,
}

impl TerritorialKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Q1HorsQpv => "q1_hors_qpv",
            Self::NonQ1Qpv => "non_q1_qpv",
        }
    }

    /// Whether it counts the dwellings outside QPV (else those in QPV).
    pub fn outside_qpv(self) -> bool {
        self == Self::Q1HorsQpv
    }
}

impl std::str::FromStr for TerritorialKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "q1_hors_qpv" => Ok(Self::Q1HorsQpv),
            "non_q1_qpv" => Ok(Self::NonQ1Qpv),
            other => Err(format!(
                "« {other} » : objectif inconnu (q1_hors_qpv ou non_q1_qpv attendu)"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TerritorialObjective {
    pub kind: TerritorialKind,
    pub commune: InseeCode,
    pub qpv: Option<String>,
    pub name: String,
    pub min: Decimal,
}

impl TerritorialObjective {
    /// Whether the segment's dwellings count towards this objective.
    pub fn covers(&self, segment: &Segment) -> bool {
        segment.commune == self.commune && segment.qpv != self.kind.outside_qpv()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BailleurCommitments {
    pub q1_hors_qpv: Option<u64>,
    pub dalo: Option<u64>,
    pub relogements: Option<u64>,
    pub relogements_prevus: Option<u64>,
}

/// The CIA a convention restates, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cia {
    pub version: u32,
    pub hash: String,
    pub objectives: Objectives,
    pub territorial: Vec<TerritorialObjective>,
    pub bailleur: BailleurCommitments,
}

/// A réservataire's promises about the households it houses, in % of its attributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Commitments {
    pub priority: Decimal,
    pub q1_hors_qpv: Decimal,
    pub non_q1_qpv: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Override {
    pub commune: Option<InseeCode>,
    pub typology: Option<Typology>,
    pub qpv: Option<bool>,
    pub share: Decimal,
}

impl Override {
    pub fn matches(&self, segment: &Segment) -> bool {
        self.commune.as_ref().is_none_or(|c| *c == segment.commune)
            && self.typology.is_none_or(|t| Some(t) == segment.typology)
            && self.qpv.is_none_or(|q| q == segment.qpv)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reservataire {
    pub id: String,
    pub kind: ReservataireKind,
    pub basis: Basis,
    pub name: String,
    pub share: Decimal,
    pub scope: Option<Vec<InseeCode>>,
    pub overrides: Vec<Override>,
    pub commitments: Commitments,
    pub territory: Option<InseeCode>,
    pub stock: Vec<StockShare>,
}

impl Reservataire {
    /// The share of this réservataire in `segment` (DESIGN §4.4): zero outside its scope, else
    /// the first matching override, else its default share.
    pub fn share_in(&self, segment: &Segment) -> Decimal {
        if let Some(scope) = &self.scope
            && !scope.contains(&segment.commune)
        {
            return Decimal::ZERO;
        }
        self.overrides
            .iter()
            .find(|o| o.matches(segment))
            .map_or(self.share, |o| o.share)
    }

    pub fn is_state(&self) -> bool {
        matches!(
            self.kind,
            ReservataireKind::Etat | ReservataireKind::EtatFonctionnaires
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scenario {
    pub year: i32,
    pub policy: String,
    pub epci_siren: Siren,
    pub epci_communes: Vec<InseeCode>,
    pub segments: Vec<Segment>,
    pub objectives: Objectives,
    pub reservataires: Vec<Reservataire>,
    pub non_reserve: Commitments,
    pub stipulations: Vec<String>,
    pub cia: Option<Cia>,
}

/// Rule ids that a convention may set aside by a recorded stipulation.
pub const STIPULABLE_RULES: &[&str] = &["etat.hors_qpv", "etat.repartition"];

impl Scenario {
    /// Parses and checks a scenario; the error names the JSON path of the first faulty field.
    pub fn from_json(text: &str) -> Result<Self, ScenarioError> {
        check(parse_json(text)?)
    }

    /// Checks a scenario already in its JSON form (a convention's working draft).
    pub fn from_raw(raw: RawScenario) -> Result<Self, ScenarioError> {
        check(raw)
    }

    pub fn total_flux(&self) -> u64 {
        self.segments.iter().map(|s| s.flux).sum()
    }
}

/// Parses any JSON document, the error naming the path of the faulty field in French (used for
/// every JSON body the platform accepts).
pub fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ScenarioError> {
    let deserializer = &mut serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut *deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        error(
            if path == "." || path == "?" {
                "(racine)".to_owned()
            } else {
                path
            },
            french_json_error(&inner),
        )
    })?;
    // Only whitespace may follow the document: `{…} suite` is not JSON.
    deserializer
        .end()
        .map_err(|e| error("(racine)", french_json_error(&e)))?;
    Ok(value)
}

fn french_json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let text = text.split(" at line ").next().unwrap_or(&text);
    let translated = if let Some(rest) = text.strip_prefix("unknown field ") {
        let (field, admitted) = rest.split_once(", ").unwrap_or((rest, ""));
        format!(
            "champ inconnu {field}{}",
            admitted_list(admitted, "champs admis", "aucun champ admis")
        )
    } else if let Some(rest) = text.strip_prefix("unknown variant ") {
        let (value, admitted) = rest.split_once(", ").unwrap_or((rest, ""));
        format!(
            "valeur « {} » inconnue{}",
            value.replace('`', ""),
            admitted_list(admitted, "valeurs admises", "aucune valeur admise")
        )
    } else if let Some(rest) = text.strip_prefix("missing field ") {
        format!("champ obligatoire absent : {rest}")
    } else if let Some(rest) = text.strip_prefix("invalid type: ") {
        format!("type incorrect : {}", found_expected(rest))
    } else if let Some(rest) = text.strip_prefix("invalid value: ") {
        format!("valeur incorrecte : {}", found_expected(rest))
    } else if let Some(rest) = text.strip_prefix("invalid length ") {
        format!("nombre d'éléments incorrect : {}", found_expected(rest))
    } else {
        format!("JSON invalide ({})", french_syntax(text))
    };
    match error.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => format!(
            "{translated}, ligne {} colonne {}",
            error.line(),
            error.column()
        ),
        _ => translated,
    }
}

/// serde's "expected one of `a`, `b`" / "expected `a` or `b`" / "there are no fields" as a
/// French parenthesis.
fn admitted_list(admitted: &str, admitted_label: &str, none: &str) -> String {
    let list = admitted
        .strip_prefix("expected one of ")
        .or_else(|| admitted.strip_prefix("expected "))
        .map(|l| l.replace(" or ", ", "));
    match list {
        Some(list) => format!(" ({admitted_label} : {list})"),
        None if admitted.starts_with("there are no") => format!(" ({none})"),
        None => String::new(),
    }
}

/// "integer `25`, expected a string" → "nombre entier 25, attendu : une chaîne de caractères".
fn found_expected(text: &str) -> String {
    let (found, expected) = text.split_once(", expected ").unwrap_or((text, ""));
    let found = [
        ("boolean ", "booléen "),
        ("integer ", "nombre entier "),
        ("floating point ", "nombre décimal "),
        ("string ", "chaîne "),
        ("character ", "caractère "),
        ("sequence", "liste"),
        ("map", "objet"),
        ("unit value", "valeur vide"),
    ]
    .iter()
    .find_map(|(en, fr)| found.strip_prefix(en).map(|rest| format!("{fr}{rest}")))
    .unwrap_or_else(|| found.to_owned())
    .replace('`', "");
    if expected.is_empty() {
        return found;
    }
    format!("{found}, attendu : {}", french_expected(expected))
}

/// What serde says a visitor expected, in French when it is one of the usual forms.
fn french_expected(expected: &str) -> String {
    let width = |d: &str| matches!(d, "8" | "16" | "32" | "64" | "128" | "size");
    let integer = |t: &str| t.strip_prefix('i').is_some_and(width);
    let unsigned = |t: &str| t.strip_prefix('u').is_some_and(width);
    match expected {
        "a string" | "a borrowed string" | "a string or bytes" => "une chaîne de caractères".into(),
        "a boolean" => "un booléen (true ou false)".into(),
        "f32" | "f64" | "a number" => "un nombre".into(),
        "a sequence" => "une liste".into(),
        "a map" => "un objet".into(),
        t if unsigned(t) => "un nombre entier positif ou nul".into(),
        t if integer(t) || t == "an integer" => "un nombre entier".into(),
        t if t.starts_with("struct ") => "un objet".into(),
        t if t.starts_with("tuple ") || t.starts_with("an array") => "une liste".into(),
        other => other.to_owned(),
    }
}

/// serde_json's syntax errors in French.
fn french_syntax(text: &str) -> String {
    if text.starts_with("EOF while parsing") {
        return "document JSON incomplet".into();
    }
    let known = [
        ("expected value", "valeur JSON attendue"),
        (
            "expected ident",
            "mot-clé JSON attendu (true, false ou null)",
        ),
        ("expected `:`", "« : » attendu"),
        ("expected `,` or `}`", "« , » ou « } » attendu"),
        ("expected `,` or `]`", "« , » ou « ] » attendu"),
        (
            "trailing characters",
            "caractères en trop après le document",
        ),
        ("trailing comma", "virgule en trop"),
        (
            "key must be a string",
            "une clé d'objet doit être une chaîne",
        ),
        ("invalid number", "nombre illisible"),
        ("number out of range", "nombre hors limites"),
        ("invalid escape", "séquence d'échappement invalide"),
        ("invalid unicode code point", "caractère Unicode invalide"),
        ("recursion limit exceeded", "imbrication trop profonde"),
    ];
    if let Some((_, fr)) = known.iter().find(|(en, _)| *en == text) {
        return (*fr).into();
    }
    if text.starts_with("control character") {
        return "caractère de contrôle dans une chaîne".into();
    }
    text.to_owned()
}

/// A percentage: the one syntax of the platform (0 to 100, comma or point, at most 4 decimals).
fn percent(value: &str, path: &str) -> Result<Decimal, ScenarioError> {
    crate::domain::text::parse_percent(value).map_err(|message| error(path, message))
}

/// Largest scenario the solver accepts (docs/securite-limites.md): well above the largest real
/// convention (DESIGN §6: 150 réservataires × 2,000 segments), low enough that no request can
/// hold the machine. The cells are the table's: (réservataires + 1) × segments.
pub mod limits {
    pub const SEGMENTS: usize = 10_000;
    pub const RESERVATAIRES: usize = 500;
    pub const CELLS: usize = 1_000_000;
    pub const COMMUNES: usize = 2_000;
    /// Overrides of all réservataires together (a compromise adds one per changed cell).
    pub const OVERRIDES: usize = 50_000;
    /// Segment ids and policy names.
    pub const IDENTIFIER: usize = 100;
}

/// Refuses a scenario over the limits before anything else is computed from it.
fn check_size(raw: &RawScenario) -> Result<(), ScenarioError> {
    let over = |path: &str, what: &str, found: usize, max: usize| {
        Err(error(
            path,
            format!("{found} {what}, au plus {max} sont admis par scénario"),
        ))
    };
    if raw.segments.len() > limits::SEGMENTS {
        return over("segments", "segments", raw.segments.len(), limits::SEGMENTS);
    }
    if raw.reservataires.len() > limits::RESERVATAIRES {
        return over(
            "reservataires",
            "réservataires",
            raw.reservataires.len(),
            limits::RESERVATAIRES,
        );
    }
    let cells = (raw.reservataires.len() + 1).saturating_mul(raw.segments.len());
    if cells > limits::CELLS {
        return Err(error(
            "(racine)",
            format!(
                "le tableau des flux aurait {cells} cellules ((réservataires + 1) × segments), au plus {} sont admises",
                limits::CELLS
            ),
        ));
    }
    if raw.epci.communes.len() > limits::COMMUNES {
        return over(
            "epci.communes",
            "communes",
            raw.epci.communes.len(),
            limits::COMMUNES,
        );
    }
    let overrides: usize = raw.reservataires.iter().map(|r| r.overrides.len()).sum();
    if overrides > limits::OVERRIDES {
        return over(
            "reservataires",
            "dérogations en tout",
            overrides,
            limits::OVERRIDES,
        );
    }
    for (i, r) in raw.reservataires.iter().enumerate() {
        let scope = r.scope.as_ref().map_or(0, Vec::len);
        if scope > limits::COMMUNES {
            return over(
                &format!("reservataires[{i}].scope"),
                "communes",
                scope,
                limits::COMMUNES,
            );
        }
    }
    Ok(())
}

/// The field of a JSON path in the user's words: `reservataires[0].share` → « part proposée
/// (réservataire n° 1) ». Pages show this rather than the path.
pub fn field_in_words(path: &str) -> String {
    let mut words = Vec::new();
    let mut owners = Vec::new();
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let number = index.map(|i| format!(" n° {}", i + 1)).unwrap_or_default();
        match name {
            "reservataires" => owners.push(format!("réservataire{number}")),
            "segments" => owners.push(format!("segment{number}")),
            "overrides" => owners.push(format!("dérogation{number}")),
            "stock" => owners.push(format!("part du stock{number}")),
            "commitments" => owners.push("engagements".to_owned()),
            "objectives" if owners.is_empty() => {
                owners.push("objectifs de la convention".to_owned());
            }
            "objectives" => owners.push("objectifs".to_owned()),
            "cia" => owners.push("CIA reprise".to_owned()),
            "territorial" => owners.push(format!("objectif territorialisé{number}")),
            "bailleur" => owners.push("engagements assignés au bailleur".to_owned()),
            "non_reserve" => owners.push("flux non réservé du bailleur".to_owned()),
            "epci" => owners.push("EPCI".to_owned()),
            other => words.push(format!("{}{number}", word_of(other))),
        }
    }
    let leaf = words
        .pop()
        .unwrap_or_else(|| owners.pop().unwrap_or_default());
    if owners.is_empty() {
        leaf
    } else {
        owners.reverse();
        format!("{leaf} ({})", owners.join(", "))
    }
}

fn word_of(field: &str) -> &str {
    match field {
        "share" => "part (%)",
        "priority" => "engagement « ménages prioritaires » (%)",
        "q1_hors_qpv" => "engagement « premier quartile hors QPV » (%)",
        "non_q1_qpv" => "engagement « hors premier quartile en QPV » (%)",
        "q1_hors_qpv_min" => "objectif « premier quartile hors QPV » (%)",
        "min" => "taux (%)",
        "objective" => "objectif",
        "hash" => "empreinte",
        "reference" => "référence",
        "dalo" => "ménages DALO",
        "relogements" => "relogements NPRU ou ORCOD",
        "relogements_prevus" => "relogements prévus",
        "non_q1_qpv_min" => "objectif « hors premier quartile en QPV » (%)",
        "priority_min" => "objectif « ménages prioritaires » (%)",
        "id" => "identifiant",
        "name" => "nom",
        "kind" => "type",
        "basis" => "fondement des droits",
        "scope" => "périmètre",
        "territory" => "territoire",
        "commune" => "commune",
        "communes" => "communes membres",
        "typology" => "typologie",
        "qpv" => "QPV",
        "flux" => "flux",
        "siren" => "SIREN",
        "year" => "année",
        "policy" => "politique",
        "schema" => "version du format",
        "stipulations" => "stipulations",
        "(racine)" => "scénario",
        other => other,
    }
}

impl ScenarioError {
    /// The error with the field in the user's words, for pages.
    pub fn in_words(&self) -> String {
        format!("{} : {}", field_in_words(&self.path), self.message)
    }
}

impl RawScenario {
    /// Writes every percentage in its one canonical form (`25,50` → `25.5`), so that the same
    /// proposal always gives the same document and hash. Values that do not parse are left
    /// for the check to refuse.
    pub fn canonicalize_percentages(&mut self) {
        fn canonical(value: &mut String) {
            if let Ok(parsed) = crate::domain::text::parse_percent(value) {
                *value = parsed.to_string();
            }
        }
        fn commitments(c: &mut RawCommitments) {
            canonical(&mut c.priority);
            canonical(&mut c.q1_hors_qpv);
            canonical(&mut c.non_q1_qpv);
        }
        canonical(&mut self.objectives.q1_hors_qpv_min);
        canonical(&mut self.objectives.non_q1_qpv_min);
        canonical(&mut self.objectives.priority_min);
        if let Some(cia) = &mut self.cia {
            canonical(&mut cia.objectives.q1_hors_qpv_min);
            canonical(&mut cia.objectives.non_q1_qpv_min);
            canonical(&mut cia.objectives.priority_min);
            cia.territorial
                .iter_mut()
                .for_each(|t| canonical(&mut t.min));
        }
        for r in &mut self.reservataires {
            canonical(&mut r.share);
            r.overrides.iter_mut().for_each(|o| canonical(&mut o.share));
            r.stock.iter_mut().for_each(|g| canonical(&mut g.share));
            commitments(&mut r.commitments);
        }
        commitments(&mut self.non_reserve.commitments);
    }
}

fn parse_field<T: std::str::FromStr<Err = crate::domain::InvalidValue>>(
    value: &str,
    path: &str,
) -> Result<T, ScenarioError> {
    value.parse().map_err(|e: crate::domain::InvalidValue| {
        error(path, format!("« {value} » : {} attendu", e.expected))
    })
}

fn check(raw: RawScenario) -> Result<Scenario, ScenarioError> {
    check_size(&raw)?;
    if raw.policy.chars().count() > limits::IDENTIFIER {
        return Err(error(
            "policy",
            format!("nom trop long ({} caractères au plus)", limits::IDENTIFIER),
        ));
    }
    if raw.schema != 1 {
        return Err(error(
            "schema",
            format!(
                "version {} non prise en charge (version admise : 1)",
                raw.schema
            ),
        ));
    }
    if !(2000..=2200).contains(&raw.year) {
        return Err(error(
            "year",
            format!("{} n'est pas une année plausible", raw.year),
        ));
    }
    let epci_siren = parse_field(&raw.epci.siren, "epci.siren")?;
    let epci_communes = raw
        .epci
        .communes
        .iter()
        .enumerate()
        .map(|(i, c)| parse_field(c, &format!("epci.communes[{i}]")))
        .collect::<Result<Vec<InseeCode>, _>>()?;
    if epci_communes.is_empty() {
        return Err(error(
            "epci.communes",
            "la liste des communes membres est vide",
        ));
    }
    let segments = check_segments(raw.segments)?;
    let objectives = check_objectives(&raw.objectives, "objectives")?;
    let cia = raw
        .cia
        .as_ref()
        .map(|c| check_cia(c, &epci_communes))
        .transpose()?;
    let mut ids = HashSet::new();
    let mut reservataires = Vec::with_capacity(raw.reservataires.len());
    for (i, r) in raw.reservataires.into_iter().enumerate() {
        let path = format!("reservataires[{i}]");
        let checked = check_reservataire(r, &path)?;
        if crate::flux::row::RowId::is_reserved_word(&checked.id) {
            return Err(error(
                format!("{path}.id"),
                format!(
                    "« {} » désigne la ligne du bailleur et ne peut pas être un réservataire",
                    crate::flux::row::NON_RESERVE
                ),
            ));
        }
        if !ids.insert(checked.id.clone()) {
            return Err(error(
                format!("{path}.id"),
                format!("l'identifiant « {} » est déjà utilisé", checked.id),
            ));
        }
        reservataires.push(checked);
    }
    let non_reserve = commitments(&raw.non_reserve.commitments, "non_reserve.commitments")?;
    for (i, stipulation) in raw.stipulations.iter().enumerate() {
        if !STIPULABLE_RULES.contains(&stipulation.as_str()) {
            return Err(error(
                format!("stipulations[{i}]"),
                format!(
                    "« {stipulation} » : seules les règles {} peuvent être écartées par une stipulation",
                    STIPULABLE_RULES.join(", ")
                ),
            ));
        }
    }
    Ok(Scenario {
        year: raw.year,
        policy: raw.policy,
        epci_siren,
        epci_communes,
        segments,
        objectives,
        reservataires,
        non_reserve,
        stipulations: raw.stipulations,
        cia,
    })
}

fn check_objectives(raw: &RawObjectives, path: &str) -> Result<Objectives, ScenarioError> {
    Ok(Objectives {
        q1_hors_qpv_min: percent(&raw.q1_hors_qpv_min, &format!("{path}.q1_hors_qpv_min"))?,
        non_q1_qpv_min: percent(&raw.non_q1_qpv_min, &format!("{path}.non_q1_qpv_min"))?,
        priority_min: percent(&raw.priority_min, &format!("{path}.priority_min"))?,
    })
}

/// Territorial rates of one CIA: a few per commune at most.
pub const MAX_TERRITORIAL: usize = 2 * limits::COMMUNES;
/// A count of households a CIA assigns to a bailleur for a year (the largest bailleur of the
/// country attributes about 40,000 dwellings a year).
pub const MAX_ASSIGNED: u64 = 1_000_000;

fn check_cia(raw: &RawCia, communes: &[InseeCode]) -> Result<Cia, ScenarioError> {
    if raw.hash.len() != 64 || !raw.hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(error(
            "cia.hash",
            "empreinte SHA-256 attendue (64 chiffres hexadécimaux)",
        ));
    }
    if raw.reference.chars().count() > 500 {
        return Err(error("cia.reference", "500 caractères au plus"));
    }
    let objectives = check_objectives(&raw.objectives, "cia.objectives")?;
    if raw.territorial.len() > MAX_TERRITORIAL {
        return Err(error(
            "cia.territorial",
            format!("au plus {MAX_TERRITORIAL} objectifs territorialisés"),
        ));
    }
    let mut territorial = Vec::with_capacity(raw.territorial.len());
    let mut seen = HashSet::new();
    for (i, t) in raw.territorial.iter().enumerate() {
        let path = format!("cia.territorial[{i}]");
        let kind: TerritorialKind = t
            .objective
            .parse()
            .map_err(|m: String| error(format!("{path}.objective"), m))?;
        let commune: InseeCode = parse_field(&t.commune, &format!("{path}.commune"))?;
        if !communes.contains(&commune) {
            return Err(error(
                format!("{path}.commune"),
                format!("la commune {commune} n'est pas membre de l'EPCI"),
            ));
        }
        if t.qpv.is_some() && kind == TerritorialKind::Q1HorsQpv {
            return Err(error(
                format!("{path}.qpv"),
                "l'objectif « premier quartile hors QPV » ne se fixe pas pour un quartier prioritaire",
            ));
        }
        if t.name.trim().is_empty() || t.name.chars().count() > limits::IDENTIFIER {
            return Err(error(
                format!("{path}.name"),
                format!(
                    "nom du territoire vide ou trop long ({} caractères au plus)",
                    limits::IDENTIFIER
                ),
            ));
        }
        if !seen.insert((kind.label(), commune.clone())) {
            return Err(error(
                format!("{path}.commune"),
                format!(
                    "deux taux « {} » pour la commune {commune} : un seul est admis",
                    kind.label()
                ),
            ));
        }
        let min = percent(&t.min, &format!("{path}.min"))?;
        territorial.push(TerritorialObjective {
            kind,
            commune,
            qpv: t.qpv.clone(),
            name: t.name.clone(),
            min,
        });
    }
    let bailleur = raw.bailleur.clone().unwrap_or_default();
    for (field, value) in [
        ("q1_hors_qpv", bailleur.q1_hors_qpv),
        ("dalo", bailleur.dalo),
        ("relogements", bailleur.relogements),
        ("relogements_prevus", bailleur.relogements_prevus),
    ] {
        if value.is_some_and(|v| v > MAX_ASSIGNED) {
            return Err(error(
                format!("cia.bailleur.{field}"),
                format!("au plus {MAX_ASSIGNED} ménages par an"),
            ));
        }
    }
    Ok(Cia {
        version: raw.version,
        hash: raw.hash.clone(),
        objectives,
        territorial,
        bailleur: BailleurCommitments {
            q1_hors_qpv: bailleur.q1_hors_qpv,
            dalo: bailleur.dalo,
            relogements: bailleur.relogements,
            relogements_prevus: bailleur.relogements_prevus,
        },
    })
}

fn check_segments(raw: Vec<RawSegment>) -> Result<Vec<Segment>, ScenarioError> {
    if raw.is_empty() {
        return Err(error("segments", "aucun segment : le flux est vide"));
    }
    let mut ids = HashSet::new();
    raw.into_iter()
        .enumerate()
        .map(|(i, s)| {
            let path = format!("segments[{i}]");
            if s.id.chars().count() > limits::IDENTIFIER {
                return Err(error(
                    format!("{path}.id"),
                    format!(
                        "identifiant trop long ({} caractères au plus)",
                        limits::IDENTIFIER
                    ),
                ));
            }
            if s.id.trim().is_empty() || !ids.insert(s.id.clone()) {
                return Err(error(
                    format!("{path}.id"),
                    format!("identifiant « {} » vide ou en double", s.id),
                ));
            }
            if s.flux > 1_000_000 {
                return Err(error(
                    format!("{path}.flux"),
                    format!(
                        "{} logements : valeur invraisemblable pour un segment",
                        s.flux
                    ),
                ));
            }
            Ok(Segment {
                id: s.id,
                commune: parse_field(&s.commune, &format!("{path}.commune"))?,
                typology: s
                    .typology
                    .as_deref()
                    .map(|t| parse_field(t, &format!("{path}.typology")))
                    .transpose()?,
                qpv: s.qpv,
                flux: s.flux,
            })
        })
        .collect()
}

fn commitments(raw: &RawCommitments, path: &str) -> Result<Commitments, ScenarioError> {
    Ok(Commitments {
        priority: percent(&raw.priority, &format!("{path}.priority"))?,
        q1_hors_qpv: percent(&raw.q1_hors_qpv, &format!("{path}.q1_hors_qpv"))?,
        non_q1_qpv: percent(&raw.non_q1_qpv, &format!("{path}.non_q1_qpv"))?,
    })
}

fn stock_share(g: &RawStockShare, at: &str) -> Result<StockShare, ScenarioError> {
    if g.typology.is_none() && g.qpv.is_none() {
        return Err(error(
            at.to_owned(),
            "une part du stock doit préciser typology, qpv ou les deux",
        ));
    }
    Ok(StockShare {
        typology: g
            .typology
            .as_deref()
            .map(|t| parse_field(t, &format!("{at}.typology")))
            .transpose()?,
        qpv: g.qpv,
        share: percent(&g.share, &format!("{at}.share"))?,
    })
}

fn check_reservataire(r: RawReservataire, path: &str) -> Result<Reservataire, ScenarioError> {
    if r.id.trim().is_empty() || r.id.len() > 64 {
        return Err(error(
            format!("{path}.id"),
            "identifiant vide ou trop long (64 caractères au plus)",
        ));
    }
    if r.name.trim().is_empty() {
        return Err(error(format!("{path}.name"), "le nom est obligatoire"));
    }
    let name_limit = crate::domain::text::limits::NAME;
    if r.name.chars().count() > name_limit {
        return Err(error(
            format!("{path}.name"),
            format!("nom trop long ({name_limit} caractères au plus)"),
        ));
    }
    let scope = r
        .scope
        .map(|communes| {
            communes
                .iter()
                .enumerate()
                .map(|(i, c)| parse_field(c, &format!("{path}.scope[{i}]")))
                .collect::<Result<Vec<InseeCode>, _>>()
        })
        .transpose()?;
    let overrides = r
        .overrides
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let at = format!("{path}.overrides[{i}]");
            if o.commune.is_none() && o.typology.is_none() && o.qpv.is_none() {
                return Err(error(
                    at,
                    "une dérogation doit préciser au moins commune, typology ou qpv",
                ));
            }
            Ok(Override {
                commune: o
                    .commune
                    .as_deref()
                    .map(|c| parse_field(c, &format!("{at}.commune")))
                    .transpose()?,
                typology: o
                    .typology
                    .as_deref()
                    .map(|t| parse_field(t, &format!("{at}.typology")))
                    .transpose()?,
                qpv: o.qpv,
                share: percent(&o.share, &format!("{at}.share"))?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let stock = r
        .stock
        .iter()
        .enumerate()
        .map(|(i, g)| stock_share(g, &format!("{path}.stock[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Reservataire {
        stock,
        kind: parse_field(&r.kind, &format!("{path}.kind"))?,
        basis: parse_field(&r.basis, &format!("{path}.basis"))?,
        share: percent(&r.share, &format!("{path}.share"))?,
        commitments: commitments(&r.commitments, &format!("{path}.commitments"))?,
        territory: r
            .territory
            .as_deref()
            .map(|t| parse_field(t, &format!("{path}.territory")))
            .transpose()?,
        id: r.id,
        name: r.name,
        scope,
        overrides,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const EXAMPLE: &str = r#"{
      "schema": 1, "year": 2027, "policy": "national",
      "epci": {"siren": "200046977", "communes": ["69123", "69266"]},
      "segments": [{"id": "69123-T3-H", "commune": "69123", "typology": "T3", "qpv": false, "flux": 40}],
      "objectives": {"q1_hors_qpv_min": "25", "non_q1_qpv_min": "50", "priority_min": "25"},
      "reservataires": [{
        "id": "etat", "kind": "etat", "basis": "contingent_prefectoral", "name": "Préfet du Rhône",
        "share": "25", "scope": null,
        "overrides": [{"qpv": true, "share": "20"}],
        "commitments": {"priority": "100", "q1_hors_qpv": "40", "non_q1_qpv": "30"}
      }],
      "non_reserve": {"commitments": {"priority": "25", "q1_hors_qpv": "25", "non_q1_qpv": "50"}}
    }"#;

    #[test]
    fn a_stock_share_names_its_group_and_stays_out_of_a_scenario_without_it() {
        let text = EXAMPLE.replace(
            r#""scope": null,"#,
            r#""scope": null, "stock": [{"share": "10"}],"#,
        );
        let error = Scenario::from_json(&text).unwrap_err();
        assert_eq!(error.path, "reservataires[0].stock[0]");
        assert!(
            error.message.contains("typology, qpv ou les deux"),
            "{error}"
        );
        // A scenario without stock shares serializes as before: no `stock` key.
        let raw: RawScenario = serde_json::from_str(EXAMPLE).unwrap();
        assert!(!serde_json::to_string(&raw).unwrap().contains("stock"));
    }

    #[test]
    fn the_design_example_parses() {
        let scenario = Scenario::from_json(EXAMPLE).unwrap();
        assert_eq!(scenario.total_flux(), 40);
        let etat = &scenario.reservataires[0];
        assert_eq!(etat.share_in(&scenario.segments[0]), Decimal::from(25));
        let mut qpv = scenario.segments[0].clone();
        qpv.qpv = true;
        assert_eq!(etat.share_in(&qpv), Decimal::from(20));
    }

    #[test]
    fn json_errors_are_in_french() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Body {
            n: i32,
            flag: Option<bool>,
            kind: Option<RoleLike>,
            count: Option<u64>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum RoleLike {
            Observer,
            Signatory,
        }
        for (text, path, expected) in [
            (
                r#"{"n": "3"}"#,
                "n",
                "type incorrect : chaîne \"3\", attendu : un nombre entier",
            ),
            (
                r#"{"n": 3, "count": -3}"#,
                "count",
                "nombre entier -3, attendu : un nombre entier positif ou nul",
            ),
            (
                r#"{"n": 3, "flag": 1}"#,
                "flag",
                "nombre entier 1, attendu : un booléen",
            ),
            (
                r#"{"n": 3, "x": 1}"#,
                "x",
                "champ inconnu `x` (champs admis : `n`, `flag`, `kind`, `count`)",
            ),
            (
                r#"{"n": 3, "kind": "chef"}"#,
                "kind",
                "valeur « chef » inconnue (valeurs admises : `observer`, `signatory`)",
            ),
            (
                r#"{"flag": true}"#,
                "(racine)",
                "champ obligatoire absent : `n`",
            ),
            (
                r#"{"n": 3"#,
                "(racine)",
                "JSON invalide (document JSON incomplet), ligne 1",
            ),
            (
                r#"{"n": 3} x"#,
                "(racine)",
                "caractères en trop après le document",
            ),
            ("[]", "(racine)", "attendu : un objet"),
        ] {
            let e = parse_json::<Body>(text).unwrap_err().to_string();
            assert!(e.contains(path), "{text}: {e}");
            assert!(e.contains(expected), "{text}: {e}");
            for english in [
                "expected", "invalid ", "unknown", "missing", "EOF", "trailing",
            ] {
                assert!(!e.contains(english), "{text}: {e}");
            }
        }
    }

    #[test]
    fn errors_name_the_json_path() {
        let cases = [
            (
                EXAMPLE.replace("\"share\": \"25\"", "\"share\": 25"),
                "reservataires[0].share",
                "type incorrect",
            ),
            (
                EXAMPLE.replace("\"share\": \"25\"", "\"share\": \"1e2\""),
                "reservataires[0].share",
                "pourcentage",
            ),
            (
                EXAMPLE.replace("\"share\": \"20\"", "\"share\": \"120\""),
                "reservataires[0].overrides[0].share",
                "entre 0 et 100",
            ),
            (
                EXAMPLE.replace("\"typology\": \"T3\"", "\"typology\": \"T9X\""),
                "segments[0].typology",
                "typologie",
            ),
            (
                EXAMPLE.replace("\"kind\": \"etat\"", "\"kind\": \"roi\""),
                "reservataires[0].kind",
                "type",
            ),
            (
                EXAMPLE.replace("\"schema\": 1", "\"schema\": 2"),
                "schema",
                "version",
            ),
            (
                EXAMPLE.replace("\"flux\": 40", "\"flux\": 40, \"flx\": 1"),
                "segments[0].flx",
                "champ inconnu",
            ),
            (
                EXAMPLE.replace("\"priority_min\": \"25\"", "\"priority_min\": \"25.12345\""),
                "objectives.priority_min",
                "4 décimales",
            ),
            (
                EXAMPLE.replace("\"siren\": \"200046977\"", "\"siren\": \"200046978\""),
                "epci.siren",
                "SIREN",
            ),
        ];
        for (text, path, needle) in cases {
            let e = Scenario::from_json(&text).unwrap_err();
            assert_eq!(e.path, path, "{e}");
            assert!(e.message.contains(needle), "{e}");
        }
        let e = Scenario::from_json("{\"schema\": 1,").unwrap_err();
        assert!(e.message.contains("ligne 1"), "{e}");
    }

    #[test]
    fn percentages_take_a_comma_or_a_point_and_refuse_exponents() {
        let comma = EXAMPLE.replace("\"share\": \"25\"", "\"share\": \"25,5\"");
        let scenario = Scenario::from_json(&comma).unwrap();
        assert_eq!(scenario.reservataires[0].share, "25.5".parse().unwrap());
        let e = Scenario::from_json(&EXAMPLE.replace("\"25\"", "\"1e2\"")).unwrap_err();
        assert!(e.message.contains("n'est pas un pourcentage"), "{e}");
        // The document keeps one written form per value.
        let mut raw: RawScenario = parse_json(&comma.replace("\"40\"", "\"40,00\"")).unwrap();
        raw.canonicalize_percentages();
        assert_eq!(raw.reservataires[0].share, "25.5");
        assert_eq!(raw.reservataires[0].commitments.q1_hors_qpv, "40");
        raw.reservataires[0].share = "1e2".into();
        raw.canonicalize_percentages();
        assert_eq!(
            raw.reservataires[0].share, "1e2",
            "left for the check to refuse"
        );
    }

    /// `count` copies of `item` as a JSON list.
    fn many(item: &str, count: usize, vary: impl Fn(usize) -> String) -> String {
        (0..count)
            .map(|i| item.replace("{i}", &vary(i)))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn sized(segments: usize, reservataires: usize) -> String {
        let segs = many(
            r#"{"id": "s{i}", "commune": "69123", "typology": "T3", "qpv": false, "flux": 1}"#,
            segments,
            |i| i.to_string(),
        );
        let res = many(
            r#"{"id": "r{i}", "kind": "autre", "basis": "autre", "name": "R", "share": "0",
                "scope": null, "commitments": {"priority": "0", "q1_hors_qpv": "0", "non_q1_qpv": "0"}}"#,
            reservataires,
            |i| i.to_string(),
        );
        format!(
            r#"{{"schema": 1, "year": 2027, "policy": "national",
              "epci": {{"siren": "200046977", "communes": ["69123"]}},
              "segments": [{segs}],
              "objectives": {{"q1_hors_qpv_min": "25", "non_q1_qpv_min": "50", "priority_min": "25"}},
              "reservataires": [{res}],
              "non_reserve": {{"commitments": {{"priority": "25", "q1_hors_qpv": "25", "non_q1_qpv": "50"}}}}}}"#
        )
    }

    #[test]
    fn scenarios_over_the_limits_are_refused_in_french() {
        // The largest real convention (DESIGN §6) passes.
        assert!(Scenario::from_json(&sized(2_000, 150)).is_ok());
        let e = Scenario::from_json(&sized(limits::SEGMENTS + 1, 1)).unwrap_err();
        assert_eq!(e.path, "segments");
        assert_eq!(
            e.message,
            "10001 segments, au plus 10000 sont admis par scénario"
        );
        let e = Scenario::from_json(&sized(1, limits::RESERVATAIRES + 1)).unwrap_err();
        assert_eq!(e.path, "reservataires");
        assert!(e.message.contains("501 réservataires"), "{e}");
        let e = Scenario::from_json(&sized(4_000, 250)).unwrap_err();
        assert!(e.message.contains("1004000 cellules"), "{e}");
        assert_eq!(e.in_words(), format!("scénario : {}", e.message));
    }

    #[test]
    fn fields_are_named_in_words_for_pages() {
        assert_eq!(
            field_in_words("reservataires[0].share"),
            "part (%) (réservataire n° 1)"
        );
        assert_eq!(
            field_in_words("reservataires[2].overrides[0].share"),
            "part (%) (dérogation n° 1, réservataire n° 3)"
        );
        assert_eq!(
            field_in_words("non_reserve.commitments.priority"),
            "engagement « ménages prioritaires » (%) (engagements, flux non réservé du bailleur)"
        );
        assert_eq!(
            field_in_words("objectives.priority_min"),
            "objectif « ménages prioritaires » (%) (objectifs de la convention)"
        );
        let e = Scenario::from_json(&EXAMPLE.replace("\"share\": \"25\"", "\"share\": \"x\""))
            .unwrap_err();
        assert!(
            e.in_words()
                .starts_with("part (%) (réservataire n° 1) : « x »"),
            "{e:?}"
        );
        assert!(!e.in_words().contains("reservataires[0]"));
    }
}
