//! The convention page (each role sees its actions), its forms, the signing page, and the
//! creation of a convention by the secretariat.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::extract::{PageForm, PageParams, PagePath};
use super::frame::{
    Flash, Frame, SessionView, check_csrf, redirect, render, require_caller, status_of, urlencode,
};
use super::heat::{HeatLevel, heat_level, heat_scale};
use crate::domain::convention::{
    Action, CommentStatus, ConventionState, Role, RoundStatus, Transition,
};
use crate::flux::scenario::{RawCommitments, RawObjectives};
use crate::http::AppState;
use crate::http::auth::Origin;
use crate::services::ServiceError;
use crate::services::conventions::document::{ProposalBody, VersionDocument};
use crate::services::conventions::drafting::{
    self, Consolidation, CreateConvention, ObjectivesChange, TransitionRequest,
};
use crate::services::conventions::members::{self, InvitationRequest};
use crate::services::conventions::signing::{self, OpenSigning, SignRequest};
use crate::services::conventions::{self as service, Caller, ConventionView, comments};

/// What the member should do now, in the words of their role.
pub fn to_do(role: &str, party: &str, state: &str) -> String {
    let role: Option<Role> = role.parse().ok();
    let state: Option<ConventionState> = state.parse().ok();
    use ConventionState as S;
    match (role, state) {
        (_, Some(S::Abandonnee)) => "rien : la convention a été abandonnée.".into(),
        (_, Some(S::EnVigueur)) => "rien : la convention est en vigueur ; le bailleur télécharge les tableaux des flux.".into(),
        (Some(Role::Secretariat), Some(S::Brouillon)) => "vérifier les segments, fixer les objectifs de la CIA, inviter les parties puis ouvrir la concertation.".into(),
        (Some(Role::Secretariat), Some(S::Concertation)) => "suivre les propositions des parties, puis consolider une version (sur les propositions ou le compromis).".into(),
        (Some(Role::Secretariat), Some(S::Arbitrage)) => "faire lever les objections, puis ouvrir la signature sur la version consolidée.".into(),
        (Some(Role::Secretariat), Some(S::Signature)) => "suivre les signatures ; relancer les parties qui n'ont pas signé.".into(),
        (Some(Role::Secretariat), Some(S::Signee)) => "attendre l'approbation du préfet, ou ouvrir un avenant.".into(),
        (Some(Role::Contributor | Role::Signatory), Some(S::Concertation)) => format!("préparer et publier la proposition de « {party} » (part et engagements)."),
        (Some(Role::Contributor | Role::Signatory), Some(S::Arbitrage)) => "relire la version consolidée ; commenter ou formuler une objection si nécessaire.".into(),
        (Some(Role::Signatory), Some(S::Signature)) => format!("relire la version en signature et signer pour « {party} »."),
        (Some(Role::Signatory), Some(S::Signee)) if party == "etat" => "approuver la convention signée, ou refuser en motivant.".into(),
        (Some(_), Some(S::Brouillon)) => "rien pour l'instant : le secrétariat prépare la convention.".into(),
        _ => "consulter la convention.".into(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    erreur: Option<String>,
    #[serde(default)]
    reservataire: Option<String>,
    #[serde(default)]
    commune: Option<String>,
    #[serde(default)]
    typologie: Option<String>,
    #[serde(default)]
    qpv: Option<String>,
    #[serde(default)]
    vue: Option<String>,
    #[serde(default)]
    de: Option<i64>,
}

#[derive(Serialize)]
struct ViolationView {
    rule: String,
    blocking: bool,
    message: String,
    reference: String,
    gap: String,
    unit: String,
}

#[derive(Serialize)]
struct CellView {
    value: u64,
    heat: u8,
    anchor: String,
}

#[derive(Serialize)]
struct RowView {
    id: String,
    name: String,
    total: u64,
    cells: Vec<CellView>,
}

#[derive(Serialize)]
struct ColumnView {
    id: String,
    label: String,
    total: u64,
}

#[derive(Serialize, Default)]
struct TableView {
    columns: Vec<ColumnView>,
    rows: Vec<RowView>,
    heat: bool,
    reservataires: Vec<Choice>,
    communes: Vec<Choice>,
    typologies: Vec<Choice>,
    qpv_choices: Vec<Choice>,
    hidden_rows: usize,
    hidden_columns: usize,
    /// The heat map's levels, computed on the whole table so that a cell keeps its colour
    /// whatever the filters.
    heat_scale: Vec<HeatLevel>,
    /// The active filters, for the download links (`?reservataire=…`, or empty).
    download_query: String,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct CommentView {
    id: i64,
    author: String,
    party: String,
    anchor: String,
    body: String,
    objection: bool,
    open: bool,
    status: String,
    resolution: String,
    can_resolve: bool,
}

#[derive(Serialize)]
struct SignatureLine {
    party: String,
    name: String,
    signed: bool,
    signer: String,
    at: String,
}

#[derive(Serialize)]
struct EventView {
    at: String,
    actor: String,
    what: String,
}

#[derive(Serialize)]
struct Actions {
    edit_objectives: bool,
    import_files: bool,
    invite: bool,
    open: bool,
    consolidate: bool,
    reopen: bool,
    open_signing: bool,
    cancel_signing: bool,
    avenant: bool,
    abandon: bool,
    approve: bool,
    propose: bool,
    comment: bool,
    object: bool,
    sign: bool,
    overrule: bool,
}

#[derive(Serialize)]
struct ConventionPage {
    #[serde(flatten)]
    frame: Frame,
    id: i64,
    state: String,
    role: String,
    party: String,
    to_do: String,
    version: Option<VersionSummary>,
    violations: Vec<ViolationView>,
    blocking: usize,
    compromise: Vec<String>,
    table: Option<TableView>,
    table_error: String,
    objectives: Option<RawObjectives>,
    proposal: ProposalForm,
    clauses: Vec<ClauseView>,
    comments: Vec<CommentView>,
    signatures: Vec<SignatureLine>,
    void_signatures: usize,
    round_open: bool,
    events: Vec<EventView>,
    actions: Actions,
    diff: Vec<String>,
    diff_from: i64,
    parties: Vec<Choice>,
    csrf: String,
}

#[derive(Serialize)]
struct VersionSummary {
    number: i64,
    hash: String,
    created_at: String,
    reason: String,
    locked: bool,
    based_on: String,
    total_flux: u64,
}

#[derive(Serialize)]
struct ClauseView {
    id: String,
    title: String,
    text: String,
}

#[derive(Serialize, Default)]
struct ProposalForm {
    share: String,
    priority: String,
    q1_hors_qpv: String,
    non_q1_qpv: String,
    is_bailleur: bool,
}

fn event_label(kind: &str) -> &str {
    match kind {
        "convention_creee" => "Convention créée",
        "invitation" => "Invitation envoyée",
        "membre_ajoute" => "Membre ajouté",
        "version_creee" => "Nouvelle version",
        "proposition_publiee" => "Proposition publiée",
        "commentaire" => "Commentaire",
        "objection" => "Objection",
        "commentaire_resolu" => "Commentaire clos ou objection levée",
        "objection_passee_outre" => "Objection passée outre",
        "signature_ouverte" => "Signature ouverte",
        "signature" => "Signature",
        "version_verrouillee" => "Version verrouillée",
        "tour_de_signature_annule" => "Tour de signature annulé",
        "transition" => "Décision",
        "etat_modifie" => "Changement d'état",
        "brouillon_enregistre" => "Brouillon enregistré",
        "etat_initial_des_lignes" => "État des lignes enregistré",
        "enregistrement" => "Enregistrement",
        other => other,
    }
}

fn choices(
    values: impl IntoIterator<Item = (String, String)>,
    selected: Option<&str>,
) -> Vec<Choice> {
    values
        .into_iter()
        .map(|(value, label)| Choice {
            selected: selected == Some(value.as_str()),
            value,
            label,
        })
        .collect()
}

fn table_view(doc: &VersionDocument, q: &PageQuery) -> Option<TableView> {
    let table = doc.report.get("table").filter(|t| !t.is_null())?;
    let rows = table["rows"].as_array()?;
    let columns = table["columns"].as_array()?;
    let segments = &doc.scenario.segments;
    let name_of = |id: &str| {
        doc.scenario
            .reservataires
            .iter()
            .find(|r| r.id == id)
            .map_or_else(
                || "Flux non réservé (bailleur)".to_owned(),
                |r| r.name.clone(),
            )
    };
    let wanted_qpv = match q.qpv.as_deref() {
        Some("oui") => Some(true),
        Some("non") => Some(false),
        _ => None,
    };
    let keep_column = |id: &str| {
        segments.iter().find(|s| s.id == id).is_some_and(|s| {
            q.commune
                .as_deref()
                .is_none_or(|c| c.is_empty() || c == s.commune)
                && q.typologie
                    .as_deref()
                    .is_none_or(|t| t.is_empty() || Some(t) == s.typology.as_deref())
                && wanted_qpv.is_none_or(|w| w == s.qpv)
        })
    };
    let kept: Vec<usize> = (0..columns.len())
        .filter(|&j| keep_column(columns[j]["id"].as_str().unwrap_or("")))
        .collect();
    let scale = heat_scale(
        table["cells"]
            .as_array()?
            .iter()
            .flat_map(|r| r.as_array().into_iter().flatten())
            .filter_map(serde_json::Value::as_u64),
    );
    let mut view_rows = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let id = row["id"].as_str().unwrap_or("").to_owned();
        if q.reservataire
            .as_deref()
            .is_some_and(|r| !r.is_empty() && r != id)
        {
            continue;
        }
        let cells: Vec<CellView> = kept
            .iter()
            .map(|&j| {
                let value = table["cells"][i][j].as_u64().unwrap_or(0);
                CellView {
                    value,
                    heat: heat_level(&scale, value),
                    anchor: format!("{id}/{}", columns[j]["id"].as_str().unwrap_or("")),
                }
            })
            .collect();
        view_rows.push(RowView {
            name: name_of(&id),
            total: cells.iter().map(|c| c.value).sum(),
            id,
            cells,
        });
    }
    let view_columns = kept
        .iter()
        .map(|&j| {
            let id = columns[j]["id"].as_str().unwrap_or("").to_owned();
            let label = segments
                .iter()
                .find(|s| s.id == id)
                .map_or(id.clone(), |s| {
                    format!(
                        "{} {}{}",
                        s.commune,
                        s.typology.clone().unwrap_or_default(),
                        if s.qpv { " QPV" } else { "" }
                    )
                });
            ColumnView {
                total: view_rows
                    .iter()
                    .map(|r| {
                        r.cells
                            .iter()
                            .zip(&kept)
                            .find(|(_, k)| **k == j)
                            .map_or(0, |(c, _)| c.value)
                    })
                    .sum(),
                id,
                label,
            }
        })
        .collect();
    let communes: BTreeSet<String> = segments.iter().map(|s| s.commune.clone()).collect();
    let typologies: BTreeSet<String> = segments.iter().filter_map(|s| s.typology.clone()).collect();
    Some(TableView {
        download_query: download_query(q, wanted_qpv),
        heat_scale: scale,
        hidden_rows: rows.len() - view_rows.len(),
        hidden_columns: columns.len() - kept.len(),
        columns: view_columns,
        rows: view_rows,
        heat: q.vue.as_deref() == Some("chaleur"),
        reservataires: choices(
            rows.iter()
                .filter_map(|r| r["id"].as_str())
                .map(|id| (id.to_owned(), name_of(id))),
            q.reservataire.as_deref(),
        ),
        communes: choices(
            communes.into_iter().map(|c| (c.clone(), c)),
            q.commune.as_deref(),
        ),
        typologies: choices(
            typologies.into_iter().map(|t| (t.clone(), t)),
            q.typologie.as_deref(),
        ),
        qpv_choices: choices(
            [
                ("oui".to_owned(), "en QPV".to_owned()),
                ("non".to_owned(), "hors QPV".to_owned()),
            ],
            q.qpv.as_deref(),
        ),
    })
}

/// The filters the page applies, as the query of the download links (the API reads the same
/// names), so that a download holds what the page shows.
fn download_query(q: &PageQuery, qpv: Option<bool>) -> String {
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let mut pairs = Vec::new();
    for (name, value) in [
        ("reservataire", given(&q.reservataire)),
        ("commune", given(&q.commune)),
        ("typologie", given(&q.typologie)),
        ("qpv", qpv.map(|w| if w { "oui" } else { "non" })),
    ] {
        if let Some(value) = value {
            pairs.push(format!("{name}={}", urlencode(value)));
        }
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

async fn build_page(
    state: &AppState,
    caller: &Caller,
    session: SessionView,
    id: i64,
    q: PageQuery,
) -> Result<ConventionPage, ServiceError> {
    let p = &state.platform;
    let view: ConventionView = service::view(p, caller, id).await?;
    let doc = match &view.current_version {
        Some(v) => Some(service::document_of(v)?),
        None => None,
    };
    let st: ConventionState = view.convention.state;
    let role = view.your_role;
    let party = view.your_party.clone();
    let is_state = view.parties.iter().any(|x| {
        x.party == party && matches!(x.reservataire_kind.as_str(), "etat" | "etat_fonctionnaires")
    });
    let open_round = view
        .rounds
        .iter()
        .find(|r| r.status == RoundStatus::Ouverte);
    let signed_parties: Vec<&str> = view
        .signatures
        .iter()
        .filter(|s| open_round.is_some_and(|r| r.id == s.round_id) || (st.is_signed() && !s.void))
        .map(|s| s.party.as_str())
        .collect();
    let required: Vec<String> = open_round.map(|r| r.required.clone()).unwrap_or_else(|| {
        view.rounds
            .iter()
            .rev()
            .find(|r| r.status == RoundStatus::Terminee)
            .map(|r| r.required.clone())
            .unwrap_or_default()
    });
    let signatures = required
        .iter()
        .map(|r| {
            let s = view
                .signatures
                .iter()
                .find(|s| s.party == *r && !s.void && signed_parties.contains(&s.party.as_str()));
            SignatureLine {
                party: r.clone(),
                name: view
                    .parties
                    .iter()
                    .find(|x| x.party == *r)
                    .map_or(r.clone(), |x| x.name.clone()),
                signed: s.is_some(),
                signer: s.map_or(String::new(), |s| {
                    format!("{} ({})", s.signer_name, s.mandate)
                }),
                at: s.map_or(String::new(), |s| s.signed_at.clone()),
            }
        })
        .collect();
    let secretariat = role == Role::Secretariat;
    let speaks = role.represents_party();
    let actions = Actions {
        edit_objectives: secretariat && st.accepts_new_version(),
        import_files: view.permission(Action::ImportPatrimoine, 0).is_ok(),
        invite: secretariat && !matches!(st, ConventionState::Abandonnee),
        open: secretariat && st == ConventionState::Brouillon,
        consolidate: secretariat
            && matches!(
                st,
                ConventionState::Concertation | ConventionState::Arbitrage
            ),
        reopen: secretariat
            && matches!(st, ConventionState::Arbitrage | ConventionState::Signature),
        open_signing: secretariat && st == ConventionState::Arbitrage,
        cancel_signing: secretariat && st == ConventionState::Signature,
        avenant: secretariat && st.is_signed(),
        abandon: secretariat && !st.is_signed() && st != ConventionState::Abandonnee,
        approve: role == Role::Signatory
            && is_state
            && st == ConventionState::Signee
            && view.convention.approval_required,
        propose: speaks && st == ConventionState::Concertation,
        comment: role != Role::Observer && !st.is_signed() && st != ConventionState::Abandonnee,
        object: speaks && !st.is_signed() && st != ConventionState::Abandonnee,
        sign: role == Role::Signatory
            && st == ConventionState::Signature
            && open_round.is_some_and(|r| r.required.contains(&party))
            && !signed_parties.contains(&party.as_str()),
        overrule: secretariat,
    };
    let mut proposal = ProposalForm {
        is_bailleur: party == "bailleur",
        ..ProposalForm::default()
    };
    if let Some(doc) = &doc {
        let c: Option<&RawCommitments> = if party == "bailleur" {
            Some(&doc.scenario.non_reserve.commitments)
        } else {
            doc.scenario
                .reservataires
                .iter()
                .find(|r| r.id == party)
                .map(|r| {
                    proposal.share = r.share.clone();
                    &r.commitments
                })
        };
        if let Some(c) = c {
            proposal.priority = c.priority.clone();
            proposal.q1_hors_qpv = c.q1_hors_qpv.clone();
            proposal.non_q1_qpv = c.non_q1_qpv.clone();
        }
    }
    let events = service::audit(p, caller, id)
        .await?
        .into_iter()
        .rev()
        .map(|e| EventView {
            at: e
                .at
                .replace('T', " ")
                .trim_end_matches('Z')
                .chars()
                .take(16)
                .collect(),
            actor: e.actor.unwrap_or_else(|| "la plateforme".into()),
            what: format!("{} {}", event_label(&e.kind), summary(&e.payload)),
        })
        .collect();
    let number = view.current_version.as_ref().map_or(0, |v| v.number);
    let diff_from = q.de.unwrap_or(number - 1).clamp(0, number);
    let diff = if diff_from >= 1 && diff_from < number {
        service::diff(p, caller, id, diff_from, number, None).await?
    } else {
        Vec::new()
    };
    let comments = view
        .comments
        .iter()
        .map(|c| CommentView {
            id: c.id,
            author: c.author_name.clone(),
            party: c.party.clone(),
            anchor: format!(
                "{} « {} »",
                match c.anchor_kind.as_str() {
                    "clause" => "clause",
                    "objective" => "objectif",
                    "proposal" => "proposition",
                    _ => "cellule",
                },
                c.anchor_ref
            ),
            body: c.body.clone(),
            objection: c.objection,
            open: c.status == CommentStatus::Ouvert,
            status: match c.status {
                CommentStatus::Ouvert => "ouvert",
                CommentStatus::Resolu => "clos",
                CommentStatus::PasseOutre => "passé outre",
            }
            .into(),
            resolution: c.resolution.clone().unwrap_or_default(),
            can_resolve: c.status == CommentStatus::Ouvert
                && if c.objection {
                    speaks && c.party == party
                } else {
                    c.author_id == caller.user.id || secretariat
                },
        })
        .collect();
    Ok(ConventionPage {
        frame: Frame {
            title: view.convention.title.clone(),
            session: Some(session.clone()),
            flash: Flash {
                message: q.message.clone(),
                error: q.erreur.clone(),
            },
        },
        id,
        state: st.label().into(),
        role: role.label().into(),
        to_do: to_do(role.as_str(), &party, st.as_str()),
        party: party.clone(),
        version: view
            .current_version
            .as_ref()
            .zip(doc.as_ref())
            .map(|(v, d)| VersionSummary {
                number: v.number,
                hash: v.hash.clone(),
                created_at: crate::signing::timestamp(v.created_at),
                reason: v.reason.clone(),
                locked: v.locked,
                based_on: if d.based_on == "compromise" {
                    "le compromis du solveur"
                } else {
                    "les propositions"
                }
                .into(),
                total_flux: d.scenario.segments.iter().map(|s| s.flux).sum(),
            }),
        violations: doc.as_ref().map_or_else(Vec::new, |d| {
            d.report["violations"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| ViolationView {
                    rule: v["rule"].as_str().unwrap_or("").into(),
                    blocking: v["severity"] == "bloquant",
                    message: v["message"].as_str().unwrap_or("").into(),
                    reference: v["reference"].as_str().unwrap_or("").into(),
                    gap: v["gap"].as_str().unwrap_or("").replace('.', ","),
                    unit: v["unit"].as_str().unwrap_or("").into(),
                })
                .collect()
        }),
        blocking: doc.as_ref().map_or(0, VersionDocument::blocking_violations),
        compromise: doc.as_ref().map_or_else(Vec::new, |d| {
            d.report["compromise"]["explanation"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        }),
        table: doc.as_ref().and_then(|d| table_view(d, &q)),
        table_error: doc
            .as_ref()
            .and_then(|d| d.report["table_error"].as_str().map(str::to_owned))
            .unwrap_or_default(),
        objectives: doc.as_ref().map(|d| d.scenario.objectives.clone()),
        proposal,
        clauses: doc.as_ref().map_or_else(Vec::new, |d| {
            d.clauses
                .iter()
                .map(|c| ClauseView {
                    id: c.id.clone(),
                    title: c.title.clone(),
                    text: c.text.clone(),
                })
                .collect()
        }),
        comments,
        signatures,
        void_signatures: view.signatures.iter().filter(|s| s.void).count(),
        round_open: open_round.is_some(),
        events,
        actions,
        diff,
        diff_from,
        parties: choices(
            view.parties
                .iter()
                .filter(|x| x.kind != "secretariat")
                .map(|x| (x.party.clone(), x.name.clone())),
            None,
        ),
        csrf: session.csrf,
    })
}

fn summary(payload: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    for (key, label) in [
        ("numero", "version n°"),
        ("version", "version n°"),
        ("partie", "partie"),
        ("motif", "motif :"),
        ("vers", "→"),
    ] {
        if let Some(v) = payload.get(key).filter(|v| !v.is_null()) {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            parts.push(format!("{label} {text}"));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("({})", parts.join(", "))
    }
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<PageQuery>,
) -> Response {
    let (caller, session) =
        match require_caller(&state, &headers, &format!("/conventions/{id}")).await {
            Ok(c) => c,
            Err(r) => return r,
        };
    match build_page(&state, &caller, session, id, q).await {
        Ok(page) => render(&state, "convention", &page),
        // Shown as a French page by `html_errors`.
        Err(e) => axum::response::IntoResponse::into_response(crate::http::ApiError::from(e)),
    }
}

/// Every form of the convention page: one field set, each action reads what it needs.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    based_on: String,
    #[serde(default)]
    share: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    q1_hors_qpv: String,
    #[serde(default)]
    non_q1_qpv: String,
    #[serde(default)]
    q1_hors_qpv_min: String,
    #[serde(default)]
    non_q1_qpv_min: String,
    #[serde(default)]
    priority_min: String,
    #[serde(default)]
    anchor_kind: String,
    #[serde(default)]
    anchor_ref: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    objection: String,
    #[serde(default)]
    comment: i64,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    party: String,
    #[serde(default)]
    mandate: String,
}

fn back(id: i64, outcome: Result<String, ServiceError>) -> Response {
    match outcome {
        Ok(message) => redirect(&format!(
            "/conventions/{id}?message={}",
            urlencode(&message)
        )),
        Err(e) => redirect(&format!(
            "/conventions/{id}?erreur={}",
            urlencode(&e.to_string())
        )),
    }
}

fn reason(f: &ActionForm) -> TransitionRequest {
    TransitionRequest {
        reason: (!f.reason.trim().is_empty()).then(|| f.reason.trim().to_owned()),
    }
}

pub async fn action(
    State(state): State<AppState>,
    headers: HeaderMap,
    PagePath((id, action)): PagePath<(i64, String)>,
    PageForm(f): PageForm<ActionForm>,
) -> Response {
    let (caller, session) =
        match require_caller(&state, &headers, &format!("/conventions/{id}")).await {
            Ok(c) => c,
            Err(r) => return r,
        };
    if let Err(refused) = check_csrf(&session, &f.csrf) {
        return *refused;
    }
    let p = &state.platform;
    let c = &caller;
    let outcome: Result<String, ServiceError> = match action.as_str() {
        "open" | "reopen" | "cancel_signing" | "approve" | "refuse" | "avenant" | "abandon" => {
            let t = match action.as_str() {
                "open" => Transition::Open,
                "reopen" => Transition::Reopen,
                "cancel_signing" => Transition::CancelSigning,
                "approve" => Transition::Approve,
                "refuse" => Transition::Refuse,
                "avenant" => Transition::Avenant,
                _ => Transition::Abandon,
            };
            drafting::transition(p, c, id, t, reason(&f))
                .await
                .map(|s| format!("C'est fait : la convention est maintenant {}.", s.label()))
        }
        "consolidate" => drafting::consolidate(
            p,
            c,
            id,
            Consolidation {
                based_on: if f.based_on.is_empty() {
                    "proposals".into()
                } else {
                    f.based_on.clone()
                },
                reason: reason(&f).reason,
            },
        )
        .await
        .map(|n| format!("Version n° {n} consolidée : la convention passe en arbitrage.")),
        "refresh_assiette" => crate::services::conventions::segments::refresh(p, c, id)
            .await
            .map(|n| format!("Segments actualisés depuis l'assiette : version n° {n}.")),
        "open_signing" => signing::open_signing(p, c, id, OpenSigning::default())
            .await
            .map(|_| "La signature est ouverte : les signataires sont invités à signer.".into()),
        "objectives" => drafting::set_objectives(
            p,
            c,
            id,
            ObjectivesChange {
                objectives: RawObjectives {
                    q1_hors_qpv_min: f.q1_hors_qpv_min.trim().into(),
                    non_q1_qpv_min: f.non_q1_qpv_min.trim().into(),
                    priority_min: f.priority_min.trim().into(),
                },
                reason: reason(&f).reason,
            },
        )
        .await
        .map(|n| format!("Objectifs enregistrés dans la version n° {n}.")),
        "save_proposal" | "publish_proposal" => {
            let publish = action == "publish_proposal";
            let access = service::access(p, c, id).await;
            match access {
                Ok(access) => {
                    let body = ProposalBody {
                        share: (access.party != "bailleur")
                            .then(|| f.share.trim().replace(',', ".")),
                        overrides: Vec::new(),
                        commitments: RawCommitments {
                            priority: f.priority.trim().replace(',', "."),
                            q1_hors_qpv: f.q1_hors_qpv.trim().replace(',', "."),
                            non_q1_qpv: f.non_q1_qpv.trim().replace(',', "."),
                        },
                    };
                    drafting::save_proposal(p, c, id, &access.party, body, publish)
                        .await
                        .map(|n| match n {
                            Some(n) => format!("Proposition publiée : version n° {n}, rapport du solveur à jour."),
                            None => "Proposition enregistrée (visible de vous seul jusqu'à sa publication).".into(),
                        })
                }
                Err(e) => Err(e),
            }
        }
        "comment" => comments::add(
            p,
            c,
            id,
            comments::NewCommentRequest {
                anchor_kind: f.anchor_kind.clone(),
                anchor_ref: f.anchor_ref.trim().to_owned(),
                body: f.body.clone(),
                objection: f.objection == "oui",
                parent_id: None,
            },
        )
        .await
        .map(|_| {
            if f.objection == "oui" {
                "Objection enregistrée.".into()
            } else {
                "Commentaire enregistré.".into()
            }
        }),
        "resolve" | "overrule" => comments::resolve(
            p,
            c,
            id,
            f.comment,
            comments::Resolution {
                text: f.reason.clone(),
            },
            action == "overrule",
        )
        .await
        .map(|()| "C'est enregistré.".into()),
        "invite" => match f.role.parse::<Role>() {
            Ok(role) => members::invite(
                p,
                c,
                id,
                InvitationRequest {
                    email: f.email.clone(),
                    name: f.name.clone(),
                    organisation: f.organisation.clone(),
                    role,
                    party: f.party.clone(),
                    mandate: f.mandate.clone(),
                },
            )
            .await
            .map(|()| format!("Invitation envoyée à {}.", f.email.trim())),
            Err(()) => Err(ServiceError::Invalid(
                "champ rôle : choisissez un rôle".into(),
            )),
        },
        other => Err(ServiceError::NotFound(format!(
            "action « {other} » inconnue"
        ))),
    };
    back(id, outcome)
}

#[derive(Serialize)]
struct SignPage {
    #[serde(flatten)]
    frame: Frame,
    id: i64,
    party: String,
    mandate: String,
    version: Option<VersionSummary>,
    table_total: u64,
    csrf: String,
}

pub async fn sign_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<PageQuery>,
) -> Response {
    let (caller, session) =
        match require_caller(&state, &headers, &format!("/conventions/{id}/signer")).await {
            Ok(c) => c,
            Err(r) => return r,
        };
    let p = &state.platform;
    let built: Result<SignPage, ServiceError> = async {
        let view = service::view(p, &caller, id).await?;
        let v = view
            .current_version
            .clone()
            .ok_or_else(|| ServiceError::Conflict("aucune version".into()))?;
        let doc = service::document_of(&v)?;
        let mandate = view
            .members
            .iter()
            .find(|m| m.user_id == caller.user.id)
            .map(|m| m.mandate.clone())
            .unwrap_or_default();
        let party_row = doc.cell_row_total(&view.your_party);
        Ok(SignPage {
            frame: Frame {
                title: format!("Signer — {}", view.convention.title),
                session: Some(session.clone()),
                flash: Flash {
                    message: None,
                    error: q.erreur.clone(),
                },
            },
            id,
            party: view.your_party.clone(),
            mandate,
            version: Some(VersionSummary {
                number: v.number,
                hash: v.hash.clone(),
                created_at: crate::signing::timestamp(v.created_at),
                reason: v.reason.clone(),
                locked: v.locked,
                based_on: doc.based_on.clone(),
                total_flux: doc.scenario.segments.iter().map(|s| s.flux).sum(),
            }),
            table_total: party_row,
            csrf: session.csrf.clone(),
        })
    }
    .await;
    match built {
        Ok(page) => render(&state, "sign", &page),
        Err(e) => {
            let status = status_of(&e);
            let mut r = redirect(&format!(
                "/conventions/{id}?erreur={}",
                urlencode(&e.to_string())
            ));
            if status == axum::http::StatusCode::NOT_FOUND {
                r = axum::response::IntoResponse::into_response(crate::http::ApiError::from(e));
            }
            r
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SignForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    version_hash: String,
    #[serde(default)]
    mandate: String,
    #[serde(default)]
    read: String,
}

pub async fn sign(
    State(state): State<AppState>,
    headers: HeaderMap,
    Origin(meta): Origin,
    PagePath(id): PagePath<i64>,
    PageForm(f): PageForm<SignForm>,
) -> Response {
    let (caller, session) =
        match require_caller(&state, &headers, &format!("/conventions/{id}/signer")).await {
            Ok(c) => c,
            Err(r) => return r,
        };
    if let Err(refused) = check_csrf(&session, &f.csrf) {
        return *refused;
    }
    if f.read != "oui" {
        return redirect(&format!(
            "/conventions/{id}/signer?erreur={}",
            urlencode(
                "cochez la case attestant que vous avez lu la version et que vous êtes habilité à signer"
            )
        ));
    }
    let request = SignRequest {
        password: f.password,
        version_hash: f.version_hash,
        mandate: (!f.mandate.trim().is_empty()).then(|| f.mandate.trim().to_owned()),
    };
    match signing::sign(&state.platform, &caller, id, request, meta).await {
        Ok(signed) => back(
            id,
            Ok(if signed.locked {
                "Signature enregistrée et scellée. C'était la dernière : la version est verrouillée.".into()
            } else {
                "Signature enregistrée et scellée.".into()
            }),
        ),
        Err(e) => redirect(&format!(
            "/conventions/{id}/signer?erreur={}",
            urlencode(&e.to_string())
        )),
    }
}

#[derive(Serialize)]
struct NewConventionPage {
    #[serde(flatten)]
    frame: Frame,
    bailleurs: Vec<Choice>,
    reservataires: Vec<Choice>,
    year: i32,
    csrf: String,
}

pub async fn new_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageParams(q): PageParams<PageQuery>,
) -> Response {
    let (_, session) = match require_caller(&state, &headers, "/conventions/nouvelle").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let bailleurs = state.store.bailleurs().await.unwrap_or_default();
    let reservataires = state.store.reservataires().await.unwrap_or_default();
    let page = NewConventionPage {
        frame: Frame {
            title: "Ouvrir une convention".into(),
            session: Some(session.clone()),
            flash: Flash {
                message: None,
                error: q.erreur,
            },
        },
        bailleurs: choices(
            bailleurs.into_iter().map(|b| {
                (
                    b.bailleur.siren.to_string(),
                    format!("{} ({} logements)", b.bailleur.name, b.logements),
                )
            }),
            None,
        ),
        reservataires: choices(
            reservataires
                .into_iter()
                .map(|r| (r.id.as_str().to_owned(), r.name.clone())),
            None,
        ),
        year: chrono::Utc::now()
            .date_naive()
            .format("%Y")
            .to_string()
            .parse::<i32>()
            .unwrap_or(2027)
            + 1,
        csrf: session.csrf,
    };
    render(&state, "new_convention", &page)
}

/// The creation form: repeated check boxes (`reservataires`) are read as pairs, all of them.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Response {
    let (caller, session) = match require_caller(&state, &headers, "/conventions/nouvelle").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if let Err(refused) = check_csrf(&session, &get("_csrf")) {
        return *refused;
    }
    let reservataires: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "reservataires")
        .map(|(_, v)| v.clone())
        .collect();
    let Ok(year) = get("year").trim().parse::<i32>() else {
        return redirect(&format!(
            "/conventions/nouvelle?erreur={}",
            urlencode("champ année : un nombre entier est attendu (ex. 2027)")
        ));
    };
    let request = CreateConvention {
        epci: caller.user.organisation_reference.clone(),
        bailleur: get("bailleur"),
        year,
        title: Some(get("title").trim().to_owned()).filter(|t| !t.is_empty()),
        reservataires,
        approval_required: Some(true),
    };
    match drafting::create(&state.platform, &caller, request).await {
        Ok(id) => redirect(&format!(
            "/conventions/{id}?message={}",
            urlencode(
                "Convention ouverte en brouillon : vérifiez les segments, fixez les objectifs et invitez les parties."
            )
        )),
        Err(e) => redirect(&format!(
            "/conventions/nouvelle?erreur={}",
            urlencode(&e.to_string())
        )),
    }
}
