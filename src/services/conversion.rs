//! The conversion of a bailleur's état des lieux into rates (DESIGN §4.5), from the database,
//! for the whole patrimoine (command line) or for one convention's EPCI (API), and its French
//! text. Its warnings are sentences: the segments they name are put in words there (« T3 hors
//! QPV à Villeurbanne »), the fields of the JSON keep the segment ids.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use super::ServiceError;
use crate::domain::{InseeCode, ReservataireId, ReservataireKind, Siren};
use crate::flux::assiette::{french_decimal, lookback_years, years_text};
use crate::flux::conversion::{Conversion, ConversionInput, Method, conversion};
use crate::flux::segment::id_in_words;
use crate::services::assiette::{window, write_columns};
use crate::services::conventions::{Caller, Platform};
use crate::store::Repository;

/// The question asked: a bailleur, a year, a method, a history depth.
#[derive(Debug, Clone)]
pub struct Request {
    pub bailleur: Siren,
    pub year: i32,
    pub method: Method,
    pub lookback: u32,
}

/// The conversion of `bailleur`'s whole patrimoine.
#[tracing::instrument(skip_all, fields(bailleur = %request.bailleur, year = request.year))]
pub async fn compute(
    store: &dyn Repository,
    request: &Request,
) -> Result<Conversion, ServiceError> {
    compute_within(store, request, None).await
}

/// The conversion limited to the dwellings in `communes` when given (a convention's EPCI):
/// rights, releases and rotation rates of other communes never enter it.
async fn compute_within(
    store: &dyn Repository,
    request: &Request,
    communes: Option<&HashSet<String>>,
) -> Result<Conversion, ServiceError> {
    let Request {
        bailleur,
        year,
        method,
        lookback,
    } = request;
    let years = lookback_years(*year, *lookback).map_err(invalid)?;
    if store.bailleur(bailleur).await?.is_none() {
        return Err(ServiceError::NotFound(format!(
            "aucun bailleur de SIREN {bailleur} n'est connu de la plateforme : importez-le d'abord (fichier bailleurs)"
        )));
    }
    let (from, to) = window(&years);
    // The reads are independent: run together, they overlap on the pool's connections.
    let (mut logements, mut releases, mut rights, scopes, registry) = tokio::try_join!(
        store.patrimoine(bailleur),
        store.releases(bailleur, from, to),
        store.stock_reservations(bailleur),
        scopes(store),
        store.communes(),
    )?;
    if let Some(communes) = communes {
        logements.retain(|l| communes.contains(l.commune.as_str()));
        let inside: HashSet<&str> = logements.iter().map(|l| l.rpls_id.as_str()).collect();
        releases.retain(|r| inside.contains(r.rpls_id.as_str()));
        rights.retain(|r| inside.contains(r.rpls_id.as_str()));
    }
    let mut converted = conversion(&ConversionInput {
        year: *year,
        lookback: *lookback,
        method: *method,
        logements: &logements,
        releases: &releases,
        rights: &rights,
        scopes: &scopes,
    })
    .map_err(invalid)?;
    let names: HashMap<String, String> = registry
        .into_iter()
        .map(|c| (c.insee.as_str().to_owned(), c.name))
        .collect();
    warnings_in_words(&mut converted, &names);
    Ok(converted)
}

/// Writes each segment id a warning names in words (« T3 hors QPV à Villeurbanne »), with the
/// commune's name from `communes` (« commune 69123 » when it is not known).
fn warnings_in_words(c: &mut Conversion, communes: &HashMap<String, String>) {
    for warning in &mut c.warnings {
        let mut words: Vec<(String, String)> = c
            .segments
            .iter()
            .filter(|s| warning.contains(s.id.as_str()))
            .map(|s| {
                let (code, _, _) = crate::flux::segment::id_parts(&s.id);
                (
                    s.id.clone(),
                    id_in_words(&s.id, &commune_name(communes, code)),
                )
            })
            .collect();
        if !words.is_empty() {
            // The longest id first, should one begin another.
            words.sort_by_key(|w| std::cmp::Reverse(w.0.len()));
            *warning = crate::domain::text::replace_words(warning, &words);
        }
    }
}

fn commune_name(communes: &HashMap<String, String>, code: &str) -> String {
    communes
        .get(code)
        .cloned()
        .unwrap_or_else(|| format!("commune {code}"))
}

/// The names the French text gives: réservataires by id, communes by INSEE code.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub reservataires: HashMap<String, String>,
    pub communes: HashMap<String, String>,
}

impl Names {
    /// The registries' names.
    pub async fn read(store: &dyn Repository) -> Result<Self, ServiceError> {
        let (reservataires, communes) = tokio::try_join!(store.reservataires(), store.communes())?;
        Ok(Self {
            reservataires: reservataires
                .into_iter()
                .map(|r| (r.id.as_str().to_owned(), r.name))
                .collect(),
            communes: communes
                .into_iter()
                .map(|c| (c.insee.as_str().to_owned(), c.name))
                .collect(),
        })
    }

    /// Its name in the registry of réservataires, else its id.
    fn reservataire(&self, id: &str) -> String {
        self.reservataires
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }
}

/// The territory of the communes and EPCI that are réservataires.
pub(crate) async fn scopes(
    store: &dyn Repository,
) -> Result<BTreeMap<ReservataireId, Vec<InseeCode>>, crate::store::StoreError> {
    let mut scopes = BTreeMap::new();
    for r in store.reservataires().await? {
        let Some(territory) = r.territory.as_deref() else {
            continue;
        };
        let communes = match r.kind {
            ReservataireKind::Commune => territory.parse().map(|c| vec![c]).ok(),
            ReservataireKind::Epci => match territory.parse::<Siren>() {
                Ok(siren) => Some(
                    store
                        .communes_of_epci(&siren)
                        .await?
                        .into_iter()
                        .map(|c| c.insee)
                        .collect(),
                ),
                Err(_) => None,
            },
            _ => None,
        };
        if let Some(communes) = communes {
            scopes.insert(r.id, communes);
        }
    }
    Ok(scopes)
}

/// The conversion of convention `id`'s bailleur in the communes of its EPCI, for its year, for
/// one of its members.
pub async fn of_convention(
    p: &Platform,
    cache: &crate::services::imported_cache::ImportedCache,
    caller: &Caller,
    id: i64,
    method: Method,
    lookback: u32,
) -> Result<std::sync::Arc<Conversion>, ServiceError> {
    let (_, bailleur, epci, year) =
        crate::services::assiette::convention_territory(p, caller, id).await?;
    let request = Request {
        bailleur,
        year,
        method,
        lookback,
    };
    cache
        .conversion_within_epci(p.store.as_ref(), &request, &epci)
        .await
}

/// The conversion of the bailleur's dwellings in the communes of `epci`: what a convention of
/// that EPCI starts from.
pub async fn within_epci(
    store: &dyn Repository,
    request: &Request,
    epci: &Siren,
) -> Result<Conversion, ServiceError> {
    let communes: HashSet<String> = store
        .communes_of_epci(epci)
        .await?
        .into_iter()
        .map(|c| c.insee.as_str().to_owned())
        .collect();
    compute_within(store, request, Some(&communes)).await
}

fn invalid(error: impl std::fmt::Display) -> ServiceError {
    ServiceError::Invalid(error.to_string())
}

/// The conversion as a French text: one line per réservataire, by its name, with its territory
/// in words; the unreserved part; the method in a sentence; the warnings, a réservataire named
/// by its name. Ids and codes are in the JSON (`--format json`).
pub fn french_text(c: &Conversion, names: &Names) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Conversion de l'état des lieux en taux pour {} (méthode {}, libérations de {}).",
        c.year,
        c.method.label(),
        years_text(&c.years_used)
    );
    out.push('\n');
    let mut lines = vec![vec![
        "réservataire".to_owned(),
        "territoire".into(),
        "droits".into(),
        "logements pondérés".into(),
        "flux-équivalent".into(),
        "taux".into(),
        "part du flux".into(),
    ]];
    for r in &c.reservataires {
        lines.push(vec![
            names.reservataire(&r.id),
            scope_text(r.scope.as_deref(), names),
            r.dwellings.to_string(),
            french_decimal(r.weighted_dwellings, 2),
            french_decimal(r.flux_equivalent, 2),
            format!("{} %", french_decimal(r.rate, 2)),
            format!("{} %", french_decimal(r.rate_of_whole_flux, 2)),
        ]);
    }
    let n = &c.non_reserve;
    lines.push(vec![
        "non réservé (bailleur)".into(),
        "tout le patrimoine".into(),
        n.dwellings.to_string(),
        french_decimal(n.weighted_dwellings, 2),
        french_decimal(n.flux_equivalent, 2),
        format!("{} %", french_decimal(n.rate, 2)),
        format!("{} %", french_decimal(n.rate, 2)),
    ]);
    write_columns(&mut out, &lines);
    out.push('\n');
    out.push_str(&method_sentence(c));
    if !c.warnings.is_empty() {
        let _ = writeln!(out, "\nAvertissements :");
        for warning in &c.warnings {
            let _ = writeln!(out, "  - {}", warning_naming_holder(warning, c, names));
        }
    }
    out
}

/// « tout le patrimoine », « Villeurbanne » or « 110 communes » (the JSON lists their codes).
fn scope_text(scope: Option<&[String]>, names: &Names) -> String {
    match scope {
        None => "tout le patrimoine".to_owned(),
        Some([one]) => commune_name(&names.communes, one),
        Some(communes) => format!("{} communes", communes.len()),
    }
}

/// A warning about one réservataire (`etat : …`) opening with its name.
fn warning_naming_holder(warning: &str, c: &Conversion, names: &Names) -> String {
    c.reservataires
        .iter()
        .find_map(|r| {
            let rest = warning.strip_prefix(r.id.as_str())?.strip_prefix(" : ")?;
            Some(format!("{} : {rest}", names.reservataire(&r.id)))
        })
        .unwrap_or_else(|| warning.to_owned())
}

fn method_sentence(c: &Conversion) -> String {
    let basis = match c.method {
        Method::Flux => {
            "flux-équivalent (logements pondérés × taux de rotation du segment) rapporté à celui de son territoire"
        }
        Method::Stock => "logements pondérés rapportés à ceux de son territoire",
    };
    format!(
        "Un droit compte pour la part de l'année {} qu'il court encore (sur {} jours). Taux : {basis}, arrondi au centième (moitié vers le haut). Part du flux : même rapport sur tout le patrimoine, centièmes répartis par Sainte-Laguë pour que la somme fasse exactement 100 %. Flux-équivalent total : {} ; logements pondérés : {}. Détail par segment et par logement : --format json.\n",
        c.year,
        c.days_in_year,
        french_decimal(c.total_flux_equivalent, 2),
        french_decimal(c.total_weighted_dwellings, 2),
    )
}
