//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the JSON API, built from one table
//! of operations. A test checks that every route of the router is in the table and that every
//! documented operation answers.

use axum::Json;
use serde_json::{Map, Value, json};

/// One documented operation: method, path (router syntax), summary, whether a session is
/// needed, the request body schema (if any), and the success status.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub auth: bool,
    pub body: Option<&'static str>,
    pub success: u16,
}

const fn op(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: bool,
    body: Option<&'static str>,
    success: u16,
) -> Operation {
    Operation {
        method,
        path,
        summary,
        auth,
        body,
        success,
    }
}

pub const OPERATIONS: &[Operation] = &[
    op(
        "get",
        "/health",
        "État du service et de la base",
        false,
        None,
        200,
    ),
    op("get", "/api/epci", "EPCI importés", false, None, 200),
    op(
        "get",
        "/api/epci/{siren}/communes",
        "Communes membres d'un EPCI",
        false,
        None,
        200,
    ),
    op(
        "get",
        "/api/epci/{siren}/eligibilite",
        "Éligibilité d'un EPCI à l'expérimentation",
        false,
        None,
        200,
    ),
    op(
        "get",
        "/api/bailleurs",
        "Bailleurs importés et leur patrimoine",
        false,
        None,
        200,
    ),
    op(
        "get",
        "/api/reservataires",
        "Registre des réservataires",
        false,
        None,
        200,
    ),
    op(
        "get",
        "/api/imports",
        "Formats des fichiers d'import",
        false,
        None,
        200,
    ),
    op(
        "post",
        "/api/imports/{kind}",
        "Import d'un fichier CSV (jeton d'exploitation)",
        false,
        Some("text/csv"),
        200,
    ),
    op(
        "post",
        "/api/solve",
        "Solveur : rapport d'un scénario (schéma 1)",
        false,
        Some("Scenario"),
        200,
    ),
    op(
        "get",
        "/api/openapi.json",
        "Cette description",
        false,
        None,
        200,
    ),
    op(
        "post",
        "/api/session",
        "Connexion (jeton et cookie de session)",
        false,
        Some("Credentials"),
        200,
    ),
    op(
        "delete",
        "/api/session",
        "Déconnexion (le jeton présenté est révoqué)",
        false,
        None,
        200,
    ),
    op(
        "put",
        "/api/me/password",
        "Changer mon mot de passe (toutes mes sessions sont révoquées, une nouvelle est ouverte)",
        true,
        Some("PasswordChange"),
        200,
    ),
    op(
        "get",
        "/api/me",
        "Mon compte et mes conventions",
        true,
        None,
        200,
    ),
    op(
        "post",
        "/api/invitations/accept",
        "Accepter une invitation",
        false,
        Some("Acceptance"),
        200,
    ),
    op(
        "get",
        "/api/conventions",
        "Mes conventions",
        true,
        None,
        200,
    ),
    op(
        "post",
        "/api/conventions",
        "Ouvrir une convention (secrétariat de la CIL)",
        true,
        Some("CreateConvention"),
        201,
    ),
    op(
        "get",
        "/api/conventions/{id}",
        "Une convention : parties, membres, propositions, commentaires, signatures",
        true,
        None,
        200,
    ),
    op(
        "get",
        "/api/conventions/{id}/version",
        "Version courante (document canonique et empreinte)",
        true,
        None,
        200,
    ),
    op(
        "get",
        "/api/conventions/{id}/table",
        "Tableau des flux de la version courante",
        true,
        None,
        200,
    ),
    op(
        "get",
        "/api/conventions/{id}/table.csv",
        "Tableau des flux en CSV (;, UTF-8 avec BOM) : détail puis totaux (?reservataire=&commune=&typologie=&qpv=oui|non&version=)",
        true,
        None,
        200,
    ),
    op(
        "get",
        "/api/conventions/{id}/table.xlsx",
        "Tableau des flux en XLSX, une feuille par vue (mêmes filtres)",
        true,
        None,
        200,
    ),
    op(
        "get",
        "/api/conventions/{id}/table.json",
        "Tableau des flux filtré, avec les noms, en JSON (mêmes filtres)",
        true,
        None,
        200,
    ),
    op(
        "get",
        "/api/conventions/{id}/versions",
        "Historique des versions",
        true,
        None,
        200,
    ),
    op(
        "get",
        "/api/conventions/{id}/versions/{number}",
        "Une version",
        true,
        None,
        200,
    ),
    op(
        "get",
        "/api/conventions/{id}/diff",
        "Ce qui change pour une partie entre deux versions (?from=&to=&party=)",
        true,
        None,
        200,
    ),
    op(
        "put",
        "/api/conventions/{id}/objectives",
        "Objectifs de la CIA (secrétariat) : nouvelle version",
        true,
        Some("ObjectivesChange"),
        201,
    ),
    op(
        "put",
        "/api/conventions/{id}/clauses",
        "Clauses (secrétariat) : nouvelle version",
        true,
        Some("ClausesChange"),
        201,
    ),
    op(
        "put",
        "/api/conventions/{id}/proposals/{party}",
        "Enregistrer la proposition de sa partie (privée)",
        true,
        Some("Proposal"),
        200,
    ),
    op(
        "post",
        "/api/conventions/{id}/proposals/{party}/publish",
        "Publier la proposition de sa partie : nouvelle version résolue",
        true,
        Some("Proposal"),
        201,
    ),
    op(
        "post",
        "/api/conventions/{id}/consolidate",
        "Consolider une version (propositions ou compromis)",
        true,
        Some("Consolidation"),
        201,
    ),
    op(
        "post",
        "/api/conventions/{id}/transitions/{name}",
        "Transition : open, reopen, cancel_signing, approve, refuse, avenant, abandon",
        true,
        Some("TransitionRequest"),
        200,
    ),
    op(
        "post",
        "/api/conventions/{id}/signing",
        "Ouvrir un tour de signature sur la version courante",
        true,
        Some("OpenSigning"),
        201,
    ),
    op(
        "post",
        "/api/conventions/{id}/signatures",
        "Signer (nouvelle authentification par mot de passe)",
        true,
        Some("SignRequest"),
        201,
    ),
    op(
        "post",
        "/api/conventions/{id}/comments",
        "Commenter ou formuler une objection",
        true,
        Some("NewComment"),
        201,
    ),
    op(
        "post",
        "/api/conventions/{id}/comments/{comment}/resolve",
        "Clore un commentaire ou lever son objection",
        true,
        Some("Resolution"),
        200,
    ),
    op(
        "post",
        "/api/conventions/{id}/comments/{comment}/overrule",
        "Passer outre une objection (secrétariat, motivé)",
        true,
        Some("Resolution"),
        200,
    ),
    op(
        "post",
        "/api/conventions/{id}/invitations",
        "Inviter un membre (courriel)",
        true,
        Some("InvitationRequest"),
        201,
    ),
    op(
        "get",
        "/api/conventions/{id}/audit",
        "Journal d'audit chaîné",
        true,
        None,
        200,
    ),
    op(
        "get",
        "/api/conventions/{id}/bundle",
        "Dossier de preuve autonome, vérifiable hors ligne",
        true,
        None,
        200,
    ),
];

fn schemas() -> Value {
    let percent = json!({"type": "string", "description": "pourcentage décimal, ex. \"25.5\""});
    let commitments = json!({"type": "object", "required": ["priority", "q1_hors_qpv", "non_q1_qpv"],
        "properties": {"priority": percent, "q1_hors_qpv": percent, "non_q1_qpv": percent}});
    json!({
        "Error": {"type": "object", "properties": {"erreur": {"type": "object",
            "required": ["code", "message"], "properties": {
                "code": {"type": "string", "enum": ["introuvable", "requete_invalide", "fichier_invalide",
                    "lignes_invalides", "non_authentifie", "interdit", "conflit", "trop_de_tentatives",
                    "trop_volumineux", "delai_depasse", "service_indisponible", "erreur_interne"]},
                "message": {"type": "string", "description": "en français"},
                "lignes": {"type": "array"}}}}},
        "Credentials": {"type": "object", "required": ["email", "password"],
            "properties": {"email": {"type": "string"}, "password": {"type": "string"}}},
        "PasswordChange": {"type": "object", "required": ["current_password", "new_password"],
            "properties": {"current_password": {"type": "string"},
                "new_password": {"type": "string", "minLength": 12}}},
        "Acceptance": {"type": "object", "required": ["token"],
            "properties": {"token": {"type": "string"}, "password": {"type": "string", "minLength": 12}}},
        "CreateConvention": {"type": "object", "required": ["epci", "bailleur", "year", "reservataires"],
            "properties": {"epci": {"type": "string"}, "bailleur": {"type": "string"},
                "year": {"type": "integer"}, "title": {"type": "string"},
                "reservataires": {"type": "array", "items": {"type": "string"}},
                "approval_required": {"type": "boolean", "default": true}}},
        "ObjectivesChange": {"type": "object", "required": ["objectives"], "properties": {
            "objectives": {"type": "object", "properties": {"q1_hors_qpv_min": percent,
                "non_q1_qpv_min": percent, "priority_min": percent}},
            "reason": {"type": "string"}}},
        "ClausesChange": {"type": "object", "required": ["clauses"], "properties": {
            "clauses": {"type": "array", "items": {"type": "object", "required": ["id", "title", "text"]}},
            "reason": {"type": "string"}}},
        "Proposal": {"type": "object", "required": ["commitments"], "properties": {
            "share": percent, "overrides": {"type": "array"}, "commitments": commitments}},
        "Consolidation": {"type": "object", "required": ["based_on"], "properties": {
            "based_on": {"type": "string", "enum": ["proposals", "compromise"]}, "reason": {"type": "string"}}},
        "TransitionRequest": {"type": "object", "properties": {"reason": {"type": "string"}}},
        "OpenSigning": {"type": "object", "properties": {
            "required": {"type": "array", "items": {"type": "string"}},
            "deadline": {"type": "string", "format": "date-time"}}},
        "SignRequest": {"type": "object", "required": ["password", "version_hash"], "properties": {
            "password": {"type": "string"}, "version_hash": {"type": "string"}, "mandate": {"type": "string"}}},
        "NewComment": {"type": "object", "required": ["anchor_kind", "anchor_ref", "body"], "properties": {
            "anchor_kind": {"type": "string", "enum": ["clause", "objective", "proposal", "cell"]},
            "anchor_ref": {"type": "string"}, "body": {"type": "string"},
            "objection": {"type": "boolean"}, "parent_id": {"type": "integer"}}},
        "Resolution": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
        "InvitationRequest": {"type": "object", "required": ["email", "name", "organisation", "role"], "properties": {
            "email": {"type": "string"}, "name": {"type": "string"}, "organisation": {"type": "string"},
            "role": {"type": "string", "enum": ["secretariat", "contributor", "signatory", "observer"]},
            "party": {"type": "string"}, "mandate": {"type": "string"}}},
        "Scenario": {"type": "object", "description": "schéma 1 (DESIGN §4.4)"},
    })
}

/// The OpenAPI document.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for o in OPERATIONS {
        let mut operation = json!({
            "summary": o.summary,
            "responses": {
                o.success.to_string(): {"description": "succès"},
                "default": {"description": "erreur", "content": {"application/json":
                    {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        });
        let parameters: Vec<Value> = o
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        if o.auth {
            operation["security"] = json!([{"bearer": []}, {"cookie": []}]);
        }
        match o.body {
            Some("text/csv") => {
                operation["requestBody"] =
                    json!({"content": {"text/csv": {"schema": {"type": "string"}}}});
            }
            Some(schema) => {
                operation["requestBody"] = json!({"required": true, "content": {"application/json":
                    {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
            }
            None => {}
        }
        paths
            .entry(o.path.to_owned())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("an object")
            .insert(o.method.to_owned(), operation);
    }
    if let Some(solve) = paths.get_mut("/api/solve").and_then(|p| p.get_mut("post")) {
        solve["description"] = json!(solve_limits());
        solve["responses"]["400"] = json!({"description": "scénario invalide ou au-delà des limites (message nommant le champ)"});
        solve["responses"]["413"] =
            json!({"description": "corps de plus de 8 Mo (code trop_volumineux)"});
        solve["responses"]["503"] = json!({"description": "tous les calculs simultanés admis sont en cours (code calculs_en_cours) ou délai de la requête dépassé (code delai_depasse) : réessayer plus tard"});
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "convention-flux",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "API de la convention unique de gestion en flux. Erreurs : {\"erreur\": {\"code\", \"message\"}} avec des codes stables et des messages en français.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": crate::http::auth::SESSION_COOKIE},
            },
        },
    })
}

/// The limits of `POST /api/solve`, from the constants that enforce them.
fn solve_limits() -> String {
    use crate::flux::scenario::limits;
    format!(
        "Ouvert sans connexion, donc borné. Un scénario compte au plus {} segments, {} réservataires, \
         {} cellules de tableau ((réservataires + 1) × segments), {} communes membres, {} dérogations \
         en tout ; le corps fait au plus {} Mo. Au-delà : 400 avec un message en français nommant le \
         champ. Les calculs simultanés sont limités (un par cœur du serveur) : au-delà, 503 immédiat \
         (code calculs_en_cours). Un calcul dont la requête a expiré (délai request_timeout_secs) ou \
         dont le client s'est déconnecté est arrêté.",
        limits::SEGMENTS,
        limits::RESERVATAIRES,
        limits::CELLS,
        limits::COMMUNES,
        limits::OVERRIDES,
        super::solve::BODY_LIMIT / (1024 * 1024),
    )
}

pub async fn document() -> Json<Value> {
    Json(openapi())
}
