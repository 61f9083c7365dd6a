//! The visas and the articles of the convention (DESIGN §4.6), each citing its article of law.
//! Every figure comes from the version; the secretariat's free clauses are set in the article
//! they belong to, and those with no obvious place in a last article.

use super::{Article, Sources, clauses_with_id, commune_label, counted, percent, rate_sentence};
use crate::domain::eligibility::french_date;
use crate::flux::row::NON_RESERVE;
use crate::services::conventions::document::{ArticleText, DocumentText};

const CCH: &str = "du code de la construction et de l'habitation";

/// The clause ids that each article takes in; any other clause goes to the last article,
/// « Stipulations particulières ».
const PLACED_CLAUSES: [(&str, &[&str]); 5] = [
    ("objet", &["objet"]),
    ("duree", &["duree"]),
    ("assiette", &["flux"]),
    ("objectifs", &["objectifs"]),
    ("bilan", &["bilan"]),
];

/// The key of the last article, which takes the stipulations and the other clauses.
const STIPULATIONS: &str = "stipulations";

/// The keys of the articles that bind every réservataire, reproduced in its bilateral annex.
const COMMON: [&str; 7] = [
    "orientation",
    "programmes",
    "bilan",
    "avenant",
    "resiliation",
    "approbation",
    "differends",
];

/// The visas as the version was sealed with them, or generated for an older version.
pub(super) fn visas(s: &Sources<'_>) -> Vec<String> {
    s.doc
        .text
        .as_ref()
        .map_or_else(|| generated_visas(s), |t| t.visas.clone())
}

/// The written part of the document for `s.doc`, to seal in the version (DESIGN §4.6).
pub fn document_text(s: &Sources<'_>) -> DocumentText {
    DocumentText {
        visas: generated_visas(s),
        articles: generated(s)
            .into_iter()
            .map(|(key, a)| ArticleText {
                key: key.to_owned(),
                title: a.title,
                law: a.law,
                paragraphs: a.paragraphs,
            })
            .collect(),
    }
}

fn generated_visas(s: &Sources<'_>) -> Vec<String> {
    let cia = match s.epci.and_then(|e| e.cia_concluded_on) {
        Some(date) => format!(
            "Vu la convention intercommunale d'attribution de {} conclue le {} ;",
            epci_name(s),
            french_date(date)
        ),
        None => format!(
            "Vu la convention intercommunale d'attribution de {} (date de conclusion non enregistrée sur la plateforme) ;",
            epci_name(s)
        ),
    };
    vec![
        "Vu le code de la construction et de l'habitation, notamment ses articles L. 441-1, L. 441-1-5, L. 441-1-6, R. 441-3, R. 441-5, R. 441-5-1 et R. 441-5-2 ;".into(),
        "Vu la loi n° 2018-1021 du 23 novembre 2018 portant évolution du logement, de l'aménagement et du numérique (ELAN), notamment son article 114 ;".into(),
        "Vu le décret n° 2020-145 du 20 février 2020 relatif à la gestion en flux des logements sociaux, modifié par le décret n° 2021-1016 du 30 juillet 2021 ;".into(),
        "Vu la loi n° 2022-217 du 21 février 2022 relative à la différenciation, la décentralisation, la déconcentration et portant diverses mesures de simplification de l'action publique locale ;".into(),
        format!(
            "Vu l'expérimentation, pour une durée de {} ans, d'une convention unique de gestion en flux par bailleur à l'échelle de l'EPCI, conclue à l'initiative de la conférence intercommunale du logement avec l'ensemble des réservataires ;",
            s.experiment_years
        ),
        format!(
            "Vu les orientations d'attribution adoptées par la conférence intercommunale du logement de {} ;",
            epci_name(s)
        ),
        cia,
    ]
}

fn epci_name(s: &Sources<'_>) -> String {
    s.epci.map_or_else(
        || format!("l'EPCI (SIREN {})", s.doc.scenario.epci.siren),
        |e| e.name.clone(),
    )
}

fn article(number: u32, title: &str, law: &str, paragraphs: Vec<String>) -> Article {
    Article {
        number,
        title: title.into(),
        paragraphs,
        law: law.into(),
        clauses: Vec::new(),
        tables: Vec::new(),
    }
}

/// Every article generated from the version's data, with its key, in the convention's order.
fn generated(s: &Sources<'_>) -> Vec<(&'static str, Article)> {
    let mut list = vec![
        ("objet", object(s)),
        ("perimetre", perimeter(s)),
        ("duree", period(s)),
        ("assiette", assiette(s)),
        ("taux", rates(s)),
        ("engagements", commitments(s)),
        ("objectifs", cia_objectives(s)),
        ("orientation", orientation()),
        ("programmes", new_programmes()),
        ("bilan", monitoring()),
        ("avenant", avenant()),
        ("resiliation", termination()),
    ];
    if s.approval_required {
        list.push(("approbation", approval()));
    }
    list.push(("differends", disputes()));
    if !other_clauses(s).is_empty() || !s.doc.scenario.stipulations.is_empty() {
        list.push((
            STIPULATIONS,
            article(
                0,
                "Stipulations particulières",
                &format!("Articles R. 441-5 et R. 441-5-2 {CCH}"),
                stipulations(s),
            ),
        ));
    }
    list
}

/// The articles as read: the text sealed in the version when it has one (what was signed),
/// else generated; the tables always come from the version's data, and the secretariat's
/// clauses go where they belong.
fn written(s: &Sources<'_>) -> Vec<(String, Article)> {
    let generated = generated(s);
    let Some(text) = &s.doc.text else {
        return generated
            .into_iter()
            .map(|(key, a)| (key.to_owned(), a))
            .collect();
    };
    text.articles
        .iter()
        .map(|t| {
            let tables = generated
                .iter()
                .find(|(key, _)| *key == t.key)
                .map(|(_, a)| a.tables.clone())
                .unwrap_or_default();
            let mut a = article(0, &t.title, &t.law, t.paragraphs.clone());
            a.tables = tables;
            (t.key.clone(), a)
        })
        .collect()
}

fn other_clauses<'a>(s: &Sources<'a>) -> Vec<&'a str> {
    let placed: Vec<&str> = PLACED_CLAUSES
        .iter()
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect();
    s.doc
        .clauses
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| !placed.contains(id))
        .collect()
}

/// The secretariat's clauses that go into the article `key`.
fn clauses_of(s: &Sources<'_>, key: &str) -> Vec<super::FreeClause> {
    if key == STIPULATIONS {
        return clauses_with_id(&s.doc.clauses, &other_clauses(s));
    }
    PLACED_CLAUSES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, ids)| clauses_with_id(&s.doc.clauses, ids))
        .unwrap_or_default()
}

fn numbered(list: impl Iterator<Item = (String, Article)>, s: &Sources<'_>) -> Vec<Article> {
    list.enumerate()
        .map(|(i, (key, mut a))| {
            a.number = u32::try_from(i + 1).unwrap_or(u32::MAX);
            a.clauses = clauses_of(s, &key);
            a
        })
        .collect()
}

/// The articles of the whole convention, numbered from 1.
pub(super) fn articles(s: &Sources<'_>) -> Vec<Article> {
    numbered(written(s).into_iter(), s)
}

/// The articles that bind every réservataire, reproduced in its bilateral annex and numbered
/// from 1 there: orientation, monitoring, avenant, termination, approval, disputes.
pub(super) fn common_articles(s: &Sources<'_>) -> Vec<Article> {
    numbered(
        written(s)
            .into_iter()
            .filter(|(key, _)| COMMON.contains(&key.as_str())),
        s,
    )
}

fn object(s: &Sources<'_>) -> Article {
    article(
        0,
        "Objet",
        &format!("Articles L. 441-1 et R. 441-5 {CCH}"),
        vec![format!(
            "La présente convention organise la gestion en flux des droits de réservation sur les logements locatifs sociaux de {} (SIREN {}) situés sur le territoire de {}, entre le bailleur et l'ensemble des réservataires signataires. Elle tient lieu, pour chacun d'eux, de la convention de réservation prévue à l'article R. 441-5 : l'annexe propre à chaque réservataire vaut convention de réservation bilatérale et se suffit à elle-même.",
            s.doc.bailleur.name,
            s.doc.bailleur.siren,
            epci_name(s)
        )],
    )
}

fn perimeter(s: &Sources<'_>) -> Article {
    let communes: std::collections::BTreeSet<&str> = s
        .doc
        .scenario
        .segments
        .iter()
        .map(|seg| seg.commune.as_str())
        .collect();
    let names: Vec<String> = communes.iter().map(|c| commune_label(s, c)).collect();
    article(
        0,
        "Périmètre",
        &format!("Article R. 441-5 {CCH}"),
        vec![
            format!(
                "La convention porte sur le patrimoine locatif social du bailleur situé dans {} de l'EPCI : {}.",
                counted(communes.len() as u64, "commune", "communes"),
                names.join(", ")
            ),
            "Les logements réservés aux services relevant de la défense nationale ou de la sécurité intérieure demeurent gérés en stock et sont exclus du flux, ainsi que les logements nécessaires aux mutations internes du bailleur, aux relogements liés aux opérations de renouvellement urbain, de requalification des copropriétés dégradées ou de lutte contre l'habitat indigne et aux ventes HLM (article R. 441-5).".into(),
            "Le droit d'une commune ou d'un EPCI porte sur le patrimoine situé sur son territoire, sauf s'il détient des droits au-delà (article R. 441-5).".into(),
        ],
    )
}

fn period(s: &Sources<'_>) -> Article {
    article(
        0,
        "Durée",
        &format!("Article R. 441-5 {CCH}"),
        vec![format!(
            "La convention s'applique au flux de l'année {}. Les taux et engagements qu'elle fixe ne peuvent être modifiés que par avenant.",
            s.doc.scenario.year
        )],
    )
}

fn assiette(s: &Sources<'_>) -> Article {
    let total: u64 = s.doc.scenario.segments.iter().map(|seg| seg.flux).sum();
    let mut paragraphs = vec![
        format!(
            "Le flux annuel de l'année {} est estimé à {}, répartis en {} (commune, typologie, situation en quartier prioritaire) détaillés à l'annexe 2. Il résulte du taux de rotation moyen de chaque segment sur les {} dernières années, appliqué aux logements du flux, déduction faite des logements exclus du flux par l'article R. 441-5.",
            s.doc.scenario.year,
            counted(total, "logement libéré", "logements libérés"),
            counted(s.doc.scenario.segments.len() as u64, "segment", "segments"),
            crate::flux::assiette::DEFAULT_LOOKBACK
        ),
        "Les droits des réservataires, exprimés en pourcentage du flux, sont convertis en nombres entiers de logements par segment selon la méthode biproportionnelle publiée : les totaux par réservataire et par segment sont respectés exactement, les arrondis suivent la règle de Sainte-Laguë, et les égalités éventuelles sont départagées selon l'ordre des lignes du tableau. Le tableau des flux et son certificat (diviseurs et égalités) figurent à l'annexe 3.".into(),
    ];
    if let Some(error) = &s.doc.report.table_error {
        paragraphs.push(format!(
            "Aucun tableau des flux n'a pu être établi pour cette version : {error}"
        ));
    }
    article(
        0,
        "Assiette et méthode",
        &format!("Articles R. 441-5 et R. 441-5-1 {CCH}"),
        paragraphs,
    )
}

fn row_total(s: &Sources<'_>, id: &str) -> Option<u64> {
    s.doc.report.table.as_ref().and_then(|t| t.row_total(id))
}

fn rates(s: &Sources<'_>) -> Article {
    let mut paragraphs = vec![
        "Chaque réservataire dispose, en contrepartie de son concours au logement social, d'un droit de réservation exprimé en pourcentage du flux annuel. Les réservations du préfet représentent au plus 30 % du flux annuel total du bailleur, dont au plus 5 % au bénéfice des agents civils et militaires de l'État ; celles consenties aux communes et EPCI en contrepartie de garanties d'emprunt n'excèdent pas, ensemble, 20 % du flux annuel sur leur territoire.".to_owned(),
    ];
    for (i, r) in s.doc.scenario.reservataires.iter().enumerate() {
        let total = row_total(s, &r.id).map_or_else(String::new, |t| {
            format!(
                ", soit {} pour l'année {}",
                counted(t, "logement", "logements"),
                s.doc.scenario.year
            )
        });
        let overrides = if r.overrides.is_empty() {
            String::new()
        } else {
            format!(
                " ; taux particuliers : {}",
                r.overrides
                    .iter()
                    .map(|o| override_label(s, o))
                    .collect::<Vec<_>>()
                    .join(" ; ")
            )
        };
        paragraphs.push(format!(
            "{}. {} : {}{overrides}{total} (annexe 4.{}).",
            i + 1,
            named_with_basis(r),
            rate_sentence(s, r),
            i + 1
        ));
    }
    if let Some(t) = row_total(s, NON_RESERVE) {
        paragraphs.push(format!(
            "Le flux non réservé, soit {}, reste à la disposition du bailleur.",
            counted(t, "logement", "logements")
        ));
    }
    article(
        0,
        "Droits de réservation de chaque réservataire",
        &format!("Articles R. 441-5 et R. 441-5-2 {CCH}"),
        paragraphs,
    )
}

/// « Commune de Bron (garantie d'emprunt) »; the basis is left out when the name already says
/// it (« État – contingent préfectoral »).
fn named_with_basis(r: &crate::flux::scenario::RawReservataire) -> String {
    let basis = super::basis_label(&r.basis);
    if r.name.to_lowercase().contains(basis) {
        r.name.clone()
    } else {
        format!("{} ({basis})", r.name)
    }
}

pub(super) fn override_label(s: &Sources<'_>, o: &crate::flux::scenario::RawOverride) -> String {
    let mut parts = vec!["pour les logements".to_owned()];
    if let Some(t) = &o.typology {
        parts.push(t.clone());
    }
    if let Some(c) = &o.commune {
        parts.push(format!("de {}", commune_label(s, c)));
    }
    match o.qpv {
        Some(true) => parts.push("en quartier prioritaire".into()),
        Some(false) => parts.push("hors quartier prioritaire".into()),
        None => {}
    }
    format!("{} {}", percent(&o.share), parts.join(" "))
}

fn commitments(s: &Sources<'_>) -> Article {
    let line = |name: &str, c: &crate::flux::scenario::RawCommitments| {
        vec![
            name.to_owned(),
            percent(&c.priority),
            percent(&c.q1_hors_qpv),
            percent(&c.non_q1_qpv),
        ]
    };
    let mut rows: Vec<Vec<String>> = s
        .doc
        .scenario
        .reservataires
        .iter()
        .map(|r| line(&r.name, &r.commitments))
        .collect();
    rows.push(line(
        "Le bailleur, sur le flux non réservé",
        &s.doc.scenario.non_reserve.commitments,
    ));
    let mut a = article(
        0,
        "Engagements d'attribution",
        &format!("Article L. 441-1 {CCH}"),
        vec!["Chaque partie s'engage à consacrer, parmi les attributions de l'année sur les logements orientés vers elle, au moins la part indiquée ci-dessous : aux ménages reconnus prioritaires au titre du droit au logement opposable ou de l'article L. 441-1 ; hors quartier prioritaire, aux demandeurs du premier quartile de ressources (attributions suivies d'un bail signé) ; en quartier prioritaire, aux demandeurs des autres quartiles.".into()],
    );
    a.tables.push(super::DocTable {
        caption: "Engagements d'attribution de chaque partie (parts minimales des attributions de l'année)".into(),
        columns: [
            ("Partie", false),
            ("Ménages prioritaires", true),
            ("Premier quartile hors QPV", true),
            ("Autres quartiles en QPV", true),
        ]
        .iter()
        .map(|(label, numeric)| super::Column {
            label: (*label).into(),
            numeric: *numeric,
        })
        .collect(),
        rows,
        total: None,
    });
    a
}

fn cia_objectives(s: &Sources<'_>) -> Article {
    let o = &s.doc.scenario.objectives;
    let mut paragraphs = vec![format!(
        "Les parties reprennent les objectifs de la convention intercommunale d'attribution : au moins {} des attributions suivies d'un bail signé hors quartier prioritaire, mutations comprises, au bénéfice des demandeurs du premier quartile de ressources ou des ménages relogés dans le cadre d'une opération de renouvellement urbain ; au moins {} des attributions en quartier prioritaire au bénéfice des demandeurs des autres quartiles ; au moins {} des attributions de chaque réservataire au bénéfice des ménages prioritaires.",
        percent(&o.q1_hors_qpv_min),
        percent(&o.non_q1_qpv_min),
        percent(&o.priority_min)
    )];
    // Versions written since the CIA is kept on the platform name the one they restate.
    if let Some(cia) = &s.doc.scenario.cia {
        let concluded = cia
            .concluded_on
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(|d| format!(" conclue le {}", d.format("%d/%m/%Y")))
            .unwrap_or_default();
        let reference = if cia.reference.is_empty() {
            String::new()
        } else {
            format!(" ({})", cia.reference)
        };
        paragraphs.push(format!(
            "Ces objectifs reprennent la version n° {} de la convention intercommunale d'attribution{concluded}{reference}, d'empreinte SHA-256 {}, qui fixe au moins {} hors quartier prioritaire au premier quartile, {} en quartier prioritaire aux autres quartiles et {} aux ménages prioritaires. La présente convention peut les rendre plus exigeants, jamais moins.",
            cia.version,
            cia.hash,
            percent(&cia.objectives.q1_hors_qpv_min),
            percent(&cia.objectives.non_q1_qpv_min),
            percent(&cia.objectives.priority_min)
        ));
        for t in &cia.territorial {
            let what = if t.objective == "q1_hors_qpv" {
                "des attributions hors quartier prioritaire au bénéfice des demandeurs du premier quartile"
            } else {
                "des attributions en quartier prioritaire au bénéfice des demandeurs des autres quartiles"
            };
            paragraphs.push(format!(
                "Sur le territoire {} : au moins {} {what} (objectif territorialisé de la convention intercommunale d'attribution).",
                t.name,
                percent(&t.min)
            ));
        }
        if let Some(b) = &cia.bailleur {
            let mut parts = Vec::new();
            if let Some(n) = b.q1_hors_qpv {
                parts.push(format!("{n} attributions hors quartier prioritaire au bénéfice des demandeurs du premier quartile"));
            }
            if let Some(n) = b.dalo {
                parts.push(format!("{n} attributions à des ménages reconnus au titre du droit au logement opposable"));
            }
            if let Some(n) = b.relogements {
                parts.push(format!("{n} relogements au titre du renouvellement urbain ou d'une opération de requalification des copropriétés dégradées"));
            }
            if !parts.is_empty() {
                paragraphs.push(format!(
                    "La convention intercommunale d'attribution assigne au bailleur, chaque année : {}.",
                    parts.join(" ; ")
                ));
            }
        }
    }
    article(
        0,
        "Objectifs de la convention intercommunale d'attribution",
        &format!("Articles L. 441-1, L. 441-1-5 et L. 441-1-6 {CCH}"),
        paragraphs,
    )
}

fn orientation() -> Article {
    article(
        0,
        "Orientation des logements libérés",
        &format!("Articles R. 441-3 et R. 441-5 {CCH}"),
        vec![
            "Le bailleur oriente chaque logement libéré vers un réservataire de sorte que, sur l'année, chacun reçoive le nombre de logements que lui attribue le tableau des flux dans chaque segment. La plateforme publie l'ordre d'orientation conseillé et ses motifs.".into(),
            "Le réservataire propose ses candidats dans un délai d'un mois à compter de la mise à disposition du logement, sauf stipulation particulière. La commission d'attribution examine au moins trois demandes par logement, sauf insuffisance de candidats, pour les ménages désignés par le préfet au titre du droit au logement opposable et pour les logements financés en PLAI adapté (article R. 441-3).".into(),
            "Un logement est décompté au titre d'un réservataire à la signature du bail. Le refus du ménage ou de la commission n'épuise pas le droit : le réservataire présente un nouveau candidat. À défaut de candidat dans le délai, le bailleur reprend le logement pour un tour ; les propositions refusées figurent au bilan.".into(),
        ],
    )
}

fn new_programmes() -> Article {
    article(
        0,
        "Programmes neufs",
        &format!("Article R. 441-5 {CCH}"),
        vec!["Les financeurs d'un programme neuf peuvent convenir avec le bailleur d'une part des premières mises en location ; les logements rejoignent ensuite le flux commun et l'assiette de l'année suivante.".into()],
    )
}

fn monitoring() -> Article {
    article(
        0,
        "Suivi et bilan annuel",
        &format!("Articles R. 441-5 et R. 441-5-1 {CCH}"),
        vec!["Avant le 28 février de chaque année, le bailleur transmet à chaque réservataire et à l'EPCI le bilan des logements proposés et attribués l'année précédente, par réservataire, typologie, financement, commune, situation en quartier prioritaire et période de construction, ainsi que le nombre prévisionnel de logements soustraits au flux de l'année en cours par catégorie d'opération. Le bilan est présenté à la conférence intercommunale du logement.".into()],
    )
}

fn avenant() -> Article {
    article(
        0,
        "Avenant",
        &format!("Article R. 441-5 {CCH}"),
        vec!["Toute modification d'un taux, d'un engagement ou d'une stipulation fait l'objet d'un avenant, établi comme une nouvelle version de la convention et signé par l'ensemble des parties.".into()],
    )
}

fn termination() -> Article {
    article(
        0,
        "Résiliation",
        &format!("Articles R. 441-5 et L. 342-14 {CCH}"),
        vec!["Chaque partie peut dénoncer la convention par notification adressée aux autres parties ; la dénonciation prend effet au terme de l'année en cours. Le manquement du bailleur aux stipulations conclues avec le préfet l'expose aux sanctions prévues à l'article L. 342-14. À défaut de convention, le préfet fixe par arrêté les modalités de réservation de son contingent.".into()],
    )
}

fn approval() -> Article {
    article(
        0,
        "Approbation du préfet",
        "Cadre de l'expérimentation de la convention unique",
        vec!["La convention, une fois signée par toutes les parties, prend effet à son approbation par le préfet. Elle se substitue alors, pour le bailleur et sur le territoire de l'EPCI, aux conventions de réservation bilatérales de ses signataires. Un refus motivé la renvoie à la concertation.".into()],
    )
}

fn disputes() -> Article {
    article(
        0,
        "Règlement des différends",
        "Code de justice administrative",
        vec!["Les parties recherchent un accord amiable au sein de la conférence intercommunale du logement. À défaut, le différend est porté devant le tribunal administratif territorialement compétent.".into()],
    )
}

fn stipulations(s: &Sources<'_>) -> Vec<String> {
    s.doc
        .scenario
        .stipulations
        .iter()
        .map(|rule| match rule.as_str() {
            "etat.hors_qpv" => "Par dérogation à l'article R. 441-5-2, le taux du préfet sur le patrimoine situé hors quartier prioritaire peut être inférieur à 30 %.".to_owned(),
            "etat.repartition" => "Par dérogation à l'article R. 441-5-2, le taux du préfet peut différer d'une commune à l'autre.".to_owned(),
            other => format!("Les parties écartent la règle « {other} » dans la mesure où les textes le permettent."),
        })
        .collect()
}
