//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the JSON API, generated. Each
//! handler carries its `#[utoipa::path]` (summary, parameters, body, responses, security) and
//! the request and response types derive `ToSchema`; the router is built from the same handler
//! list ([`super::documented_routes`], utoipa-axum), so a route cannot be served undocumented.
//! [`finish`] then adds what every operation shares (the session, the body limit, the timeout,
//! the internal error).

use std::sync::LazyLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{OpenApi as _, ToSchema};

use crate::import::RowError;

/// The security scheme names of the document: a session token in `Authorization: Bearer …`,
/// or the session cookie the pages use.
pub const BEARER: &str = "bearer";
pub const COOKIE: &str = "cookie";
/// The operator's token, for the imports.
pub const OPERATOR: &str = "jeton_exploitation";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "convention-flux",
        description = "API de la convention unique de gestion en flux des réservations de logements \
            sociaux. Toute erreur est un JSON {\"erreur\": {\"code\", \"message\", \"lignes\"?}} avec \
            un code stable et un message en français. Les routes des conventions demandent une \
            session : en-tête Authorization: Bearer <jeton> (obtenu par POST /api/session) ou cookie \
            de session. Les pourcentages et nombres décimaux sont des chaînes (\"25.5\"). \
            Ce document est produit à partir du code des gestionnaires.",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2"),
    ),
    tags(
        (name = "service", description = "État du service et cette description"),
        (name = "territoire", description = "Données publiques : EPCI, communes, bailleurs, réservataires"),
        (name = "imports", description = "Fichiers d'import (jeton d'exploitation)"),
        (name = "solveur", description = "Calcul d'un scénario, sans rien lire ni écrire en base"),
        (name = "session", description = "Connexion, compte, invitations"),
        (name = "conventions", description = "Travail sur une convention (membres seulement)"),
        (name = "cia", description = "La CIA d'un EPCI, que chaque convention reprend, et la vue de la CIL"),
        (name = "exports", description = "Téléchargements du tableau des flux"),
    ),
    components(schemas(Erreur))
)]
struct ApiDoc;

/// The document the router starts from: information, tags, shared schemas.
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
#[schema(description = "Corps de toute réponse d'erreur")]
pub struct Erreur {
    erreur: ErreurDetail,
}

#[derive(Serialize, ToSchema)]
#[schema(
    description = "Le code stable, le message en français et, pour un fichier, les lignes fautives"
)]
pub struct ErreurDetail {
    code: ErrorCode,
    /// Explication en français, à montrer telle quelle
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Pour lignes_invalides : chaque ligne fautive du fichier (ligne, colonne, valeur lue, problème, forme attendue)
    lignes: Option<Vec<RowError>>,
}

/// The stable codes of [`crate::http::ApiError::code`] (a test checks that they match).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "Code stable de l'erreur : introuvable (404), requete_invalide (400), \
    fichier_invalide et lignes_invalides (422), non_authentifie (401), interdit (403), conflit (409), \
    trop_de_tentatives (429), trop_volumineux (413), delai_depasse, service_indisponible et \
    calculs_en_cours (503), erreur_interne (500)"
)]
pub enum ErrorCode {
    Introuvable,
    RequeteInvalide,
    FichierInvalide,
    LignesInvalides,
    NonAuthentifie,
    Interdit,
    Conflit,
    TropDeTentatives,
    TropVolumineux,
    DelaiDepasse,
    ServiceIndisponible,
    CalculsEnCours,
    ErreurInterne,
}

/// An error answer of the document, with its French description.
fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Erreur")))
                .build(),
        )
        .build()
        .into()
}

/// Adds to `operation` the answer for `status` unless its handler documents it already.
fn add_error(operation: &mut Operation, status: &str, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| error_response(description));
}

/// What every operation shares, added once here rather than on each handler: the security
/// schemes, 401 where a session is required, 413 where a JSON body is read, 503 on timeout and
/// 500 everywhere.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "Jeton de session renvoyé par POST /api/session (champ token)",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        COOKIE,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            crate::http::auth::SESSION_COOKIE,
            "Cookie de session HttpOnly posé à la connexion (celui des pages)",
        ))),
    );
    components.add_security_scheme(
        OPERATOR,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "Jeton d'exploitation (réglage CONVENTION_FLUX_OPERATOR_TOKEN), pour les imports",
                ))
                .build(),
        ),
    );
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            if operation.security.is_some() {
                add_error(
                    operation,
                    "401",
                    "non_authentifie : session absente, expirée, révoquée ou jeton invalide",
                );
            }
            let json_body = operation
                .request_body
                .as_ref()
                .is_some_and(|body| body.content.contains_key("application/json"));
            if json_body {
                add_error(
                    operation,
                    "400",
                    "requete_invalide : corps illisible, Content-Type autre que application/json, \
                     champ manquant, inconnu ou de mauvais type (le message nomme le chemin du champ)",
                );
                add_error(
                    operation,
                    "413",
                    "trop_volumineux : corps au-delà de la taille maximale (réglage body_limit_bytes)",
                );
            }
            add_error(
                operation,
                "503",
                "delai_depasse : la requête a dépassé le délai de traitement (réglage \
                 request_timeout_secs) ; service_indisponible : la base de données ne répond pas",
            );
            add_error(
                operation,
                "500",
                "erreur_interne : sans détail, la cause est journalisée",
            );
        }
    }
    doc
}

/// The OpenAPI document of the whole API, from the router's own list of handlers.
pub fn openapi() -> Value {
    let mut doc = serde_json::to_value(finish(super::documented_routes().split_for_parts().1))
        .expect("le document OpenAPI se sérialise en JSON");
    describe_in_french(&mut doc);
    doc
}

/// The document's JSON text, produced once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| openapi().to_string());

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    summary = "Cette description",
    description = "La description OpenAPI 3.1 de toute l'API, produite à partir des gestionnaires \
        de requêtes et des types de leurs corps (utoipa).",
    responses((status = 200, description = "Le document OpenAPI", content_type = "application/json", body = Object)),
)]
pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT.as_str())
}

/// The limits of `POST /api/solve`, from the constants that enforce them.
pub fn solve_limits() -> String {
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

/// `(method, path)` of every operation of the document, as the router serves them (the
/// router and the document come from the same list of handlers).
pub fn operations() -> Vec<(String, String)> {
    let doc = openapi();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flat_map(|i| i.keys()) {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                operations.push((method.clone(), path.clone()));
            }
        }
    }
    operations
}

/// The schemas defined in this module and its siblings, whose descriptions are their French
/// doc comments. The others come from the services, the store and the domain, whose doc
/// comments are written for developers, in English: their descriptions are replaced by
/// [`DESCRIPTIONS`].
const API_SCHEMAS: &[&str] = &[
    "Column",
    "CommentClosed",
    "CommentCreated",
    "Consolidated",
    "ConventionCreated",
    "Credentials",
    "Diff",
    "Erreur",
    "ErreurDetail",
    "ErrorCode",
    "File",
    "Format",
    "Health",
    "Me",
    "Message",
    "NewVersion",
    "SigningOpened",
    "TableOfVersion",
    "TransitionDone",
    "VersionWithDocument",
];

/// French descriptions of the other schemas (`Schema`) and of some of their fields
/// (`Schema.field`). A test checks that every schema has one and that each names a real field.
const DESCRIPTIONS: &[(&str, &str)] = &[
    ("Acceptance", "Acceptation d'une invitation"),
    (
        "Acceptance.token",
        "Le jeton du lien d'invitation reçu par courriel",
    ),
    (
        "Acceptance.password",
        "Requis si l'adresse invitée n'a pas encore de compte (au moins 12 caractères) : le compte est créé",
    ),
    (
        "AuditEvent",
        "Un événement du journal d'audit ; hash couvre tous les autres champs, prev_hash compris",
    ),
    (
        "AuditEvent.at",
        "Horodatage RFC 3339, UTC, en millisecondes",
    ),
    (
        "AuditEvent.actor",
        "user:12 (Prénom Nom), ou null quand la plateforme agit d'elle-même",
    ),
    (
        "AuditEvent.kind",
        "Nature de l'événement : convention_ouverte, version_creee, signature…",
    ),
    (
        "AuditEvent.rows",
        "Empreintes des lignes créées ou modifiées par l'événement",
    ),
    ("Backend", "Moteur de base de données"),
    ("Bailleur", "Un bailleur social"),
    (
        "BailleurSummary",
        "Un bailleur et les chiffres agrégés de son patrimoine chargé",
    ),
    ("Basis", "Fondement des droits d'un réservataire"),
    (
        "Bundle",
        "Dossier de preuve : tout ce qu'il faut pour vérifier la convention hors ligne",
    ),
    (
        "Bundle.public_key",
        "Clé publique Ed25519 de la plateforme, en hexadécimal",
    ),
    (
        "Bundle.convention",
        "Description libre de la convention (numéro, titre, état, parties)",
    ),
    (
        "Bundle.documents",
        "PDF signés de chaque version verrouillée : la convention entière et l'annexe de chaque réservataire (absents des dossiers antérieurs)",
    ),
    (
        "BundleDocument",
        "Un PDF signé du dossier de preuve, exactement le rendu de sa version, que la vérification refait",
    ),
    ("BundleDocument.version", "Numéro de la version"),
    (
        "BundleDocument.version_hash",
        "Empreinte SHA-256 de la version",
    ),
    (
        "BundleDocument.annexe",
        "Réservataire dont c'est l'annexe ; absent pour la convention entière",
    ),
    ("BundleDocument.file_name", "Nom du fichier PDF"),
    ("BundleDocument.sha256", "Empreinte SHA-256 du PDF"),
    ("BundleDocument.pdf_base64", "Le PDF, encodé en base64"),
    ("Clause", "Une clause de la convention"),
    (
        "ClausesChange",
        "Nouvelles clauses de la convention (au plus 200)",
    ),
    ("CommentRow", "Un commentaire ou une objection"),
    ("CommentRow.status", "ouvert, resolu ou passe_outre"),
    ("Commune", "Une commune"),
    (
        "Condition",
        "Une condition d'éligibilité, remplie ou non, expliquée en français",
    ),
    (
        "Condition.code",
        "Identifiant stable : plh_ou_competence, qpv, cia, periode",
    ),
    ("Consolidation", "Consolidation d'une version"),
    (
        "AssignedLine",
        "Ce que la CIA assigne à un bailleur (ménages par an) et ce que sa convention prévoit",
    ),
    (
        "BailleurEntry",
        "Engagements assignés à un bailleur, en ménages par an",
    ),
    ("CiaAuthor", "Auteur d'une version de la CIA"),
    (
        "CiaHistory",
        "La CIA d'un EPCI : sa dernière version et tout son historique",
    ),
    (
        "CiaBailleur",
        "Engagements que la CIA assigne à un bailleur, en ménages par an",
    ),
    (
        "CiaChange",
        "Nouvelle version de la CIA : date, référence, objectifs, taux territorialisés, engagements des bailleurs",
    ),
    (
        "CiaDocument",
        "Le texte d'une version de la CIA, tel qu'il est haché",
    ),
    (
        "CiaSummary",
        "La version de la CIA que la vue de la CIL applique",
    ),
    (
        "CiaVersion",
        "Une version de la CIA, son numéro et l'empreinte SHA-256 de son texte canonique",
    ),
    (
        "CilView",
        "Vue de la CIL : conventions de l'EPCI, contributions prévues et cohérence à l'échelle de l'EPCI",
    ),
    (
        "Closer",
        "Une ligne d'un tableau des flux dont l'engagement est sous la cible, et les ménages gagnés à la cible",
    ),
    (
        "Contribution",
        "Contribution prévue d'une convention à un objectif : logements comptés et ménages",
    ),
    (
        "ConventionLine",
        "Une convention de l'EPCI dans la vue de la CIL : état, flux, CIA reprise, contributions",
    ),
    (
        "ObjectiveLine",
        "Un objectif de la CIA, tous bailleurs ensemble (EPCI ou territoire) : cible, prévu, manque",
    ),
    (
        "RawBailleurCommitments",
        "Ce que la CIA assigne au bailleur de la convention et les relogements que prévoit son assiette",
    ),
    (
        "RawCia",
        "La CIA que reprend la convention : version, empreinte, objectifs, taux territorialisés, engagements du bailleur",
    ),
    (
        "RawTerritorialObjective",
        "Un taux territorialisé de la CIA : objectif (q1_hors_qpv ou non_q1_qpv), commune, QPV éventuel, taux",
    ),
    (
        "TerritorialEntry",
        "Un taux territorialisé : objectif, commune, QPV facultatif (le seul de la commune), taux",
    ),
    (
        "Consolidation.based_on",
        "proposals (propositions publiées) ou compromise (compromis du solveur)",
    ),
    (
        "ConventionRow",
        "La convention : territoire, bailleur, année, état, versions",
    ),
    (
        "CommentStatus",
        "État d'un commentaire ou d'une objection : ouvert, résolu ou passé outre",
    ),
    ("ConventionState", "État de la convention"),
    (
        "ConventionSummary",
        "Une convention telle qu'elle est listée pour l'un de ses membres",
    ),
    (
        "ConventionView",
        "Une convention telle que la voit un membre",
    ),
    (
        "ConventionView.proposals",
        "Propositions publiées de chaque partie, et le brouillon de votre propre partie",
    ),
    ("CreateConvention", "Ouverture d'une convention"),
    ("CreateConvention.epci", "SIREN de l'EPCI"),
    ("CreateConvention.bailleur", "SIREN du bailleur"),
    (
        "CreateConvention.reservataires",
        "Identifiants des réservataires parties (registre des réservataires)",
    ),
    (
        "CreateConvention.approval_required",
        "L'approbation du préfet est requise avant l'entrée en vigueur (oui par défaut)",
    ),
    (
        "CreateConvention.method",
        "Conversion des droits en stock en parts de départ : flux (par les libérations, par défaut) ou stock (par les logements) ; enregistrée dans la version",
    ),
    (
        "Eligibility",
        "Éligibilité d'un EPCI à l'expérimentation à une date",
    ),
    ("Epci", "Un EPCI et ce qui décide de son éligibilité"),
    (
        "Epci.plh_required",
        "L'EPCI est tenu d'adopter un programme local de l'habitat (L.302-1 CCH)",
    ),
    (
        "Epci.housing_competent",
        "L'EPCI détient la compétence habitat",
    ),
    (
        "Epci.cia_concluded_on",
        "Date de conclusion de la convention intercommunale d'attribution, le cas échéant",
    ),
    ("EpciSummary", "Un EPCI, son nombre de communes et de QPV"),
    ("ImportKind", "Type de fichier importé"),
    ("ImportSummary", "Ce qu'un import a fait"),
    (
        "InseeCode",
        "Code INSEE de commune, 5 caractères (69123, 2A004)",
    ),
    ("InvitationRequest", "Invitation d'un membre"),
    (
        "InvitationRequest.party",
        "La partie au nom de laquelle le membre parlera (requise pour les contributeurs et signataires)",
    ),
    (
        "InvitationRequest.mandate",
        "La qualité en laquelle le membre signera (« Préfet du Rhône, par délégation »)",
    ),
    ("MemberRecord", "Un membre de la convention"),
    ("NewCommentRequest", "Nouveau commentaire ou objection"),
    (
        "NewCommentRequest.anchor_kind",
        "clause, objective, proposal ou cell",
    ),
    (
        "NewCommentRequest.anchor_ref",
        "Identifiant d'une clause, clé d'un objectif (q1_hors_qpv_min…), identifiant d'une partie, ou ligne/segment d'une cellule",
    ),
    (
        "NewCommentRequest.parent_id",
        "Le commentaire auquel celui-ci répond",
    ),
    ("ObjectivesChange", "Nouveaux objectifs de la CIA"),
    ("OpenSigning", "Ouverture d'un tour de signature"),
    (
        "OpenSigning.required",
        "Parties dont la signature est requise ; par défaut tous les réservataires et le bailleur",
    ),
    (
        "OpenSigning.deadline",
        "Échéance du tour, RFC 3339, pour les relances",
    ),
    (
        "OpenSigning.overrule_reason",
        "Motif pour passer outre les objections encore ouvertes, s'il en reste",
    ),
    ("PartyRecord", "Une partie à la convention"),
    ("PartyRecord.kind", "secretariat, reservataire ou bailleur"),
    (
        "PartyRecord.reservataire_kind",
        "Pour un réservataire, sa nature (etat, commune…)",
    ),
    ("PasswordChange", "Changement de mot de passe"),
    (
        "PasswordChange.new_password",
        "Au moins 12 caractères, pas trop facile à deviner",
    ),
    (
        "ProposalBody",
        "Proposition d'une partie : pour un réservataire sa part et ses engagements, pour le bailleur ses engagements sur le flux non réservé (share et overrides ignorés)",
    ),
    (
        "ProposalBody.share",
        "Part du flux demandée, pourcentage décimal en chaîne (\"25.5\")",
    ),
    (
        "ProposalView",
        "La proposition d'une partie, publiée ou non",
    ),
    ("ProposalView.draft", "Seulement pour votre propre partie"),
    (
        "RawCommitments",
        "Engagements en pourcentage des attributions, décimaux en chaînes (\"25.5\")",
    ),
    (
        "RawEpci",
        "EPCI du scénario et ses communes membres (codes INSEE)",
    ),
    (
        "RawNonReserve",
        "Le flux non réservé du bailleur et ses engagements",
    ),
    (
        "RawObjectives",
        "Objectifs de la CIA, pourcentages décimaux en chaînes (\"25.5\")",
    ),
    (
        "RawOverride",
        "Dérogation : une autre part sur les segments désignés (commune, typologie, QPV)",
    ),
    (
        "RawReservataire",
        "Un réservataire du scénario, sa part (pourcentage décimal en chaîne) et ses engagements",
    ),
    (
        "RawReservataire.stock",
        "Facultatif : sa part du stock (logements pondérés) par groupe de segments, issue de la conversion de l'état des lieux, pour l'alerte representativite",
    ),
    (
        "RawStockShare",
        "Part du stock d'un réservataire dans un groupe de segments (typologie, en QPV ou non, ou les deux), en pourcentage décimal en chaîne",
    ),
    (
        "RawScenario",
        "Scénario (schéma 1, DESIGN §4.4) : le territoire, les segments et leur flux, les objectifs, les réservataires et le flux non réservé",
    ),
    (
        "RawScenario.stipulations",
        "Clauses par lesquelles la convention écarte une règle par défaut (etat.hors_qpv, etat.repartition) : « sauf stipulation contraire », R.441-5-2 CCH",
    ),
    (
        "RawSegment",
        "Un segment du parc : commune, typologie, QPV, et son flux annuel de logements",
    ),
    (
        "Reservataire",
        "Un réservataire connu de la plateforme ; territory est le code INSEE d'une commune, le SIREN d'un EPCI ou le code d'un département",
    ),
    (
        "ReservataireId",
        "Identifiant de réservataire (action-logement, commune-69123…)",
    ),
    ("ReservataireKind", "Nature d'un réservataire"),
    ("Resolution", "Motif de la clôture ou de la décision"),
    ("Role", "Rôle d'un membre dans la convention"),
    (
        "RoundStatus",
        "État d'un tour de signature : ouverte, terminée ou annulée",
    ),
    ("RoundRow", "Un tour de signature"),
    ("RoundRow.status", "ouverte, terminee ou annulee"),
    (
        "RowError",
        "Une ligne fautive d'un fichier : où, ce qui a été lu, ce qui ne va pas, la forme attendue",
    ),
    (
        "RowError.line",
        "Ligne dans le fichier, l'en-tête étant la ligne 1",
    ),
    (
        "RowError.column",
        "Titre de la colonne tel qu'écrit dans le fichier",
    ),
    (
        "RowState",
        "Empreinte SHA-256 de chaque colonne d'une ligne, ou null quand la plateforme l'a supprimée",
    ),
    (
        "Session",
        "Une session : le jeton à présenter dans Authorization: Bearer, son expiration (secondes Unix) et le compte",
    ),
    ("SignRequest", "Signature d'une version"),
    (
        "SignRequest.password",
        "Nouvelle authentification : le mot de passe du signataire, vérifié de nouveau",
    ),
    (
        "SignRequest.version_hash",
        "Empreinte de la version lue ; refusée si le tour porte sur une autre",
    ),
    (
        "SignRequest.mandate",
        "Qualité en laquelle le signataire engage sa partie ; par défaut celle de l'invitation",
    ),
    (
        "SignRequest.document_sha256",
        "SHA-256 du PDF de la convention présenté au signataire ; refusée (409) si le document a changé depuis ; sans elle, l'empreinte du PDF tel qu'il se lit à cet instant est enregistrée",
    ),
    (
        "SignatureRecord",
        "Les faits d'une signature, scellés par la plateforme : toute modification ultérieure rompt le sceau",
    ),
    (
        "SignatureRecord.version_hash",
        "SHA-256 de la version signée",
    ),
    (
        "SignatureRecord.signed_at",
        "Horodatage RFC 3339, UTC, en millisecondes",
    ),
    (
        "SignatureRecord.method",
        "Mode de nouvelle authentification, par exemple mot_de_passe",
    ),
    (
        "SignatureRecord.document_sha256",
        "SHA-256 du PDF de la convention présenté au signataire ; absent des signatures antérieures au PDF",
    ),
    ("SignatureView", "Une signature"),
    (
        "SignatureView.void",
        "Le tour a été annulé ou remplacé par une nouvelle version : cette signature ne compte plus",
    ),
    ("Signed", "Ce qu'une signature a produit"),
    (
        "Signed.locked",
        "C'était la dernière signature requise : la version est désormais verrouillée",
    ),
    ("Siren", "SIREN, 9 chiffres avec clé de Luhn"),
    (
        "StoredSignature",
        "Une signature telle qu'elle est conservée : les faits et leur sceau",
    ),
    (
        "Conversion",
        "L'état des lieux converti en taux (DESIGN §4.5) : taux de chaque réservataire et part non réservée, avec leur provenance",
    ),
    (
        "Conversion.warnings",
        "Avertissements en français : droits ignorés, droits qui prennent fin, segments sans libération…",
    ),
    (
        "Conversion.years_used",
        "Années de libérations sur lesquelles les taux de rotation sont moyennés",
    ),
    (
        "Conversion.days_in_year",
        "Jours de l'année N : un droit pèse ses jours restants sur ce nombre",
    ),
    (
        "Method",
        "flux : par les libérations qu'apporte chaque droit ; stock : par les logements tels qu'ils sont",
    ),
    (
        "NonReserveConversion",
        "La part non réservée du bailleur : fraction non couverte de chaque logement du flux",
    ),
    (
        "ReservataireConversion",
        "Les droits d'un réservataire convertis : taux sur son territoire et part du flux entier",
    ),
    (
        "ReservataireConversion.scope",
        "null (tout le patrimoine) ou les codes INSEE de son territoire (commune, EPCI)",
    ),
    (
        "ReservataireConversion.rate",
        "Taux sur son territoire, en pourcentage arrondi au centième (moitié vers le haut)",
    ),
    (
        "ReservataireConversion.rate_of_whole_flux",
        "Part du flux entier, en pourcentage ; avec la part non réservée, la somme fait exactement 100.00 (Sainte-Laguë)",
    ),
    (
        "RightDetail",
        "Un droit en stock : logement, segment, date de fin, poids (part de l'année qu'il court) et flux-équivalent",
    ),
    (
        "SegmentPart",
        "Les droits d'un titulaire dans un segment : logements, logements pondérés, flux-équivalent",
    ),
    (
        "SegmentRotation",
        "Le taux de rotation d'un segment, calculé comme pour l'assiette, avec les libérations de chaque année",
    ),
    ("StoredVersion", "Une version telle qu'elle est conservée"),
    (
        "StoredVersion.document",
        "Le texte JSON canonique, octet pour octet tel qu'il est haché",
    ),
    (
        "TransitionRequest",
        "Motif de la transition, le cas échéant",
    ),
    ("UserRecord", "Un compte"),
    ("VersionRow", "Une version, sans son document"),
];

/// Replaces the descriptions of the schemas outside the API layer by their French ones.
fn describe_in_french(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (name, schema) in schemas.iter_mut() {
        if API_SCHEMAS.contains(&name.as_str()) {
            continue;
        }
        let Some(schema) = schema.as_object_mut() else {
            continue;
        };
        schema.remove("description");
        for property in schema
            .get_mut("properties")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|p| p.values_mut())
            .filter_map(Value::as_object_mut)
        {
            property.remove("description");
        }
    }
    for (key, text) in DESCRIPTIONS {
        let pointer = match key.split_once('.') {
            Some((schema, field)) => format!("/{schema}/properties/{field}"),
            None => format!("/{key}"),
        };
        if let Some(target) = schemas_pointer(schemas, &pointer) {
            target.insert("description".into(), Value::from(*text));
        }
    }
}

fn schemas_pointer<'a>(
    schemas: &'a mut serde_json::Map<String, Value>,
    pointer: &str,
) -> Option<&'a mut serde_json::Map<String, Value>> {
    let mut parts = pointer.trim_start_matches('/').split('/');
    let mut current = schemas.get_mut(parts.next()?)?;
    for part in parts {
        current = current.get_mut(part)?;
    }
    current.as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ApiError;

    fn document() -> Value {
        openapi()
    }

    /// The whole document, as committed in `snapshots/`: a change of a handler's attribute or
    /// of a request or response type shows up in review as a change of this file.
    #[test]
    fn the_generated_document_matches_its_snapshot() {
        insta::assert_json_snapshot!("openapi", document());
    }

    #[test]
    fn every_operation_has_a_french_summary_and_its_error_answers() {
        let doc = document();
        let mut seen = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                seen += 1;
                let context = format!("{method} {path}");
                let summary = operation["summary"].as_str().unwrap_or_default();
                assert!(
                    summary.chars().count() >= 8,
                    "{context}: résumé {summary:?}"
                );
                let responses = operation["responses"].as_object().unwrap();
                assert!(
                    responses.keys().any(|status| status.starts_with('2')),
                    "{context}: aucune réponse de succès"
                );
                for (status, response) in responses {
                    let description = response["description"].as_str().unwrap_or_default();
                    assert!(!description.is_empty(), "{context} {status}");
                    if !status.starts_with('2') {
                        assert_eq!(
                            response["content"]["application/json"]["schema"]["$ref"],
                            "#/components/schemas/Erreur",
                            "{context} {status}"
                        );
                    }
                }
                assert!(responses.contains_key("500"), "{context}");
                if operation["security"].is_array() {
                    assert!(responses.contains_key("401"), "{context}");
                }
                if operation["requestBody"]["content"]["application/json"].is_object() {
                    for status in ["400", "413"] {
                        assert!(responses.contains_key(status), "{context} {status}");
                    }
                }
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    let name = parameter["name"].as_str().unwrap();
                    if parameter["in"] == "path" {
                        assert!(path.contains(&format!("{{{name}}}")), "{context}: {name}");
                    }
                    assert!(
                        parameter["description"]
                            .as_str()
                            .is_some_and(|d| !d.is_empty()),
                        "{context}: paramètre {name} sans description"
                    );
                }
                // Every path parameter of the address is described.
                for segment in path.split('/') {
                    if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'))
                    {
                        assert!(
                            operation["parameters"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .any(|p| p["name"] == name && p["in"] == "path"),
                            "{context}: paramètre {name} non décrit"
                        );
                    }
                }
            }
        }
        assert_eq!(seen, operations().len());
        let mut ids: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .map(|operation| operation["operationId"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), seen, "identifiants d'opération en double");
        assert!(seen > 30, "{seen} opérations");
    }

    #[test]
    fn the_convention_routes_need_a_session_and_the_public_ones_do_not() {
        let doc = document();
        for (method, path) in operations() {
            let operation = &doc["paths"][&path][&method];
            let schemes: Vec<&str> = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|requirement| requirement.as_object().unwrap().keys())
                .map(String::as_str)
                .collect();
            let expected: &[&str] = if path.starts_with("/api/conventions")
                || path.starts_with("/api/me")
                || (path.starts_with("/api/epci/")
                    && (path.ends_with("/cia") || path.ends_with("/cil")))
            {
                &[BEARER, COOKIE]
            } else if path.starts_with("/api/imports/") {
                &[OPERATOR]
            } else {
                &[]
            };
            assert_eq!(schemes, expected, "{method} {path}");
        }
    }

    /// The limits of the open solver are stated with the values that enforce them.
    #[test]
    fn the_solver_states_its_limits() {
        use crate::flux::scenario::limits;
        let doc = document();
        let solve = &doc["paths"]["/api/solve"]["post"];
        let description = solve["description"].as_str().unwrap();
        for figure in [limits::SEGMENTS, limits::RESERVATAIRES, limits::CELLS] {
            assert!(description.contains(&figure.to_string()), "{figure}");
        }
        assert!(description.contains("8 Mo"), "{description}");
        assert_eq!(
            solve["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/RawScenario"
        );
        for status in ["200", "400", "413", "503"] {
            assert!(solve["responses"][status].is_object(), "{status}");
        }
        assert!(solve["security"].is_null());
    }

    /// The codes of the `Erreur` schema are exactly those the API answers with.
    #[test]
    fn the_error_schema_lists_every_error_code() {
        let doc = document();
        let listed: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let text = || String::from("x");
        let errors = [
            ApiError::NotFound(text()),
            ApiError::BadRequest(text()),
            ApiError::InvalidFile(text()),
            ApiError::InvalidRows {
                message: text(),
                errors: Vec::new(),
            },
            ApiError::Unauthenticated(text()),
            ApiError::Forbidden(text()),
            ApiError::Conflict(text()),
            ApiError::TooManyAttempts(text(), 1),
            ApiError::TooLarge(text()),
            ApiError::Timeout,
            ApiError::Unavailable,
            ApiError::Busy(text()),
            ApiError::Internal(text()),
        ];
        // A new variant fails to compile here until it is added to the list above.
        for error in &errors {
            match error {
                ApiError::NotFound(_)
                | ApiError::BadRequest(_)
                | ApiError::InvalidFile(_)
                | ApiError::InvalidRows { .. }
                | ApiError::Unauthenticated(_)
                | ApiError::Forbidden(_)
                | ApiError::Conflict(_)
                | ApiError::TooManyAttempts(..)
                | ApiError::TooLarge(_)
                | ApiError::Timeout
                | ApiError::Unavailable
                | ApiError::Busy(_)
                | ApiError::Internal(_) => {}
            }
        }
        let mut answered: Vec<&str> = errors.iter().map(ApiError::code).collect();
        let mut listed_sorted = listed.clone();
        answered.sort_unstable();
        listed_sorted.sort_unstable();
        assert_eq!(listed_sorted, answered);
    }

    /// Decimals travel as strings (`"25.5"`): the percentages of a proposal are strings.
    #[test]
    fn percentages_are_strings() {
        let doc = document();
        let commitments = &doc["components"]["schemas"]["RawCommitments"]["properties"];
        for field in ["priority", "q1_hors_qpv", "non_q1_qpv"] {
            assert_eq!(commitments[field]["type"], "string", "{field}");
        }
    }

    /// Every schema is described in French, and every French description names a real field.
    #[test]
    fn every_schema_is_described_in_french() {
        let doc = document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for (name, schema) in schemas {
            assert!(
                schema["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "schéma {name} sans description"
            );
        }
        for (key, _) in DESCRIPTIONS {
            let found = match key.split_once('.') {
                Some((schema, field)) => schemas[schema]["properties"][field].is_object(),
                None => schemas.contains_key(*key),
            };
            assert!(found, "{key} : ni schéma ni champ de ce nom");
        }
        for name in API_SCHEMAS {
            assert!(schemas.contains_key(*name), "{name}");
        }
    }
}
