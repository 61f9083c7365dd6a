//! The column specifications and row parsers of each file kind.

use std::collections::HashMap;

use csv::{ReaderBuilder, StringRecord};

use super::csv_text::{
    ColumnSpec, Header, Row, decode, detect_separator, optional, parse_count, required,
    unbalanced_quote,
};
use super::{
    FileError, ImportBatch, ImportError, ImportKind, ParsedFile, RefKind, Reference, RowError,
};
use crate::domain::text::{parse_date, parse_yes_no};
use crate::domain::{
    Bailleur, Basis, Commune, Epci, ExclusionCategory, Financing, InseeCode, InvalidValue,
    Logement, PlannedExclusion, Qpv, QpvCode, Release, Reservataire, ReservataireId,
    ReservataireKind, RplsId, Siren, StockReservation, Typology,
};

/// Parses a whole file of `kind`. `bailleur` is required for the patrimoine files.
/// `progress` receives the number of bytes read so far and the total.
pub fn parse_file(
    kind: ImportKind,
    bytes: &[u8],
    bailleur: Option<&Siren>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ParsedFile, ImportError> {
    let bailleur = match (kind.needs_bailleur(), bailleur) {
        (true, None) => {
            return Err(FileError::new(format!(
                "le fichier {} appartient au patrimoine d'un bailleur : indiquez son SIREN",
                kind.file_name()
            ))
            .into());
        }
        (true, Some(b)) => Some(b.clone()),
        (false, _) => None,
    };
    let decoded = decode(bytes)?;
    let separator = detect_separator(&decoded.text);
    if let Some(open) = unbalanced_quote(&decoded.text, separator) {
        let header = decoded.text.lines().next().unwrap_or("");
        return Err(ImportError::Rows {
            errors: vec![open.row_error(header, separator)],
        });
    }
    let input = Input {
        text: &decoded.text,
        separator,
        bailleur,
    };
    let (batch, lines, references) = match kind {
        ImportKind::Epci => input.parse::<EpciFile>(progress),
        ImportKind::Communes => input.parse::<CommuneFile>(progress),
        ImportKind::Qpv => input.parse::<QpvFile>(progress),
        ImportKind::Bailleurs => input.parse::<BailleurFile>(progress),
        ImportKind::Reservataires => input.parse::<ReservataireFile>(progress),
        ImportKind::Logements => input.parse::<LogementFile>(progress),
        ImportKind::ReservationsStock => input.parse::<StockFile>(progress),
        ImportKind::Liberations => input.parse::<ReleaseFile>(progress),
        ImportKind::Exclusions => input.parse::<ExclusionFile>(progress),
    }?;
    Ok(ParsedFile {
        batch,
        lines,
        references,
        encoding: decoded.encoding,
        separator,
    })
}

/// The decoded text of a file and what the rows need besides their own fields.
struct Input<'a> {
    text: &'a str,
    separator: u8,
    bailleur: Option<Siren>,
}

/// What a row parser sees of one row.
struct RowCtx<'r, 'a> {
    row: Row<'a>,
    bailleur: Option<&'r Siren>,
    references: &'r mut Vec<Reference>,
    spec: &'static [ColumnSpec],
}

impl RowCtx<'_, '_> {
    fn required<T>(
        &mut self,
        column: usize,
        parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
    ) -> Option<T> {
        self.row.required(self.spec, column, parse)
    }

    fn optional<T>(
        &mut self,
        column: usize,
        parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
    ) -> Option<Option<T>> {
        self.row.optional(self.spec, column, parse)
    }

    /// Notes that the value of `column` must name stored data of `kind`.
    fn refers(&mut self, column: usize, kind: RefKind, key: &str) {
        self.references.push(Reference {
            kind,
            key: key.to_owned(),
            line: self.row.line,
            column: self.row.title(self.spec, column),
        });
    }

    fn bailleur(&self) -> Siren {
        self.bailleur
            .cloned()
            .expect("parse_file checks that the patrimoine files have a bailleur")
    }
}

/// One file kind: its columns, how a row becomes an item, the item's natural key, and the
/// batch the items make.
trait FileFormat {
    type Item;
    const SPEC: &'static [ColumnSpec];
    /// Parses one row; `None` when it has errors (already recorded).
    fn item(row: &mut RowCtx<'_, '_>) -> Option<Self::Item>;
    /// The natural key, to report a row repeated in the file, and its column.
    fn key(item: &Self::Item) -> (String, usize);
    fn batch(items: Vec<Self::Item>, bailleur: Option<Siren>) -> ImportBatch;
}

type Parsed = (ImportBatch, Vec<u64>, Vec<Reference>);

impl Input<'_> {
    fn parse<F: FileFormat>(
        self,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Parsed, ImportError> {
        let total = self.text.len() as u64;
        let mut reader = ReaderBuilder::new()
            .delimiter(self.separator)
            .has_headers(false)
            .flexible(true)
            .from_reader(self.text.as_bytes());
        let mut record = StringRecord::new();
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => {
                return Err(FileError::new("le fichier ne contient pas de ligne d'en-tête").into());
            }
            Err(e) => return Err(FileError::new(format!("en-tête illisible : {e}")).into()),
        }
        let header = Header::resolve(&record, F::SPEC)?;
        let mut items = Vec::new();
        let mut lines = Vec::new();
        let mut references = Vec::new();
        let mut errors = Vec::new();
        let mut first_seen: HashMap<String, u64> = HashMap::new();
        loop {
            let line = reader.position().line();
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    errors.push(RowError::new(
                        line,
                        "",
                        "",
                        format!("ligne illisible ({e})"),
                        "une ligne CSV bien formée",
                    ));
                    continue;
                }
            }
            let line = record.position().map_or(line, |p| p.line());
            if line.is_multiple_of(8192) {
                progress(reader.position().byte(), total);
            }
            if Row::is_blank(&record) {
                continue;
            }
            let mut ctx = RowCtx {
                row: Row::new(&record, &header, line, &mut errors),
                bailleur: self.bailleur.as_ref(),
                references: &mut references,
                spec: F::SPEC,
            };
            let Some(item) = F::item(&mut ctx) else {
                continue;
            };
            if ctx.row.failed() {
                continue;
            }
            let (key, column) = F::key(&item);
            if let Some(first) = first_seen.get(&key) {
                ctx.row.fail_on(
                    F::SPEC,
                    column,
                    format!("doublon : la même clé figure déjà ligne {first}"),
                    "une seule ligne par clé dans le fichier".into(),
                );
                continue;
            }
            first_seen.insert(key, line);
            items.push(item);
            lines.push(line);
        }
        progress(total, total);
        if !errors.is_empty() {
            return Err(ImportError::Rows { errors });
        }
        if items.is_empty() {
            return Err(FileError::new(
                "le fichier ne contient aucune ligne de données après l'en-tête",
            )
            .into());
        }
        Ok((F::batch(items, self.bailleur), lines, references))
    }
}

fn text(value: &str) -> Result<String, InvalidValue> {
    if value.chars().count() > 200 {
        Err(InvalidValue::expected("un texte de 200 caractères au plus"))
    } else {
        Ok(value.to_owned())
    }
}

fn name_text(value: &str) -> Result<String, InvalidValue> {
    if value.is_empty() {
        Err(InvalidValue::expected(
            "un nom (texte de 200 caractères au plus)",
        ))
    } else {
        text(value)
    }
}

fn yes_no(value: &str) -> Result<bool, InvalidValue> {
    parse_yes_no(value).ok_or(InvalidValue::expected("oui ou non"))
}

fn date(value: &str) -> Result<chrono::NaiveDate, InvalidValue> {
    parse_date(value).ok_or(InvalidValue::expected(
        "une date AAAA-MM-JJ (ou JJ/MM/AAAA) existante",
    ))
}

fn year(value: &str) -> Result<i32, InvalidValue> {
    value
        .parse::<i32>()
        .ok()
        .filter(|y| (1800..=2200).contains(y))
        .ok_or(InvalidValue::expected(
            "une année sur 4 chiffres (ex. 1975)",
        ))
}

struct EpciFile;
impl FileFormat for EpciFile {
    type Item = Epci;
    const SPEC: &'static [ColumnSpec] = &[
        required("siren", &["siren_epci", "siren_groupement"]),
        required(
            "nom",
            &["nom_epci", "raison_sociale", "libelle", "libelle_epci"],
        ),
        required("plh_obligatoire", &["plh", "obligation_plh"]),
        required("competence_habitat", &["competence", "competent_habitat"]),
        optional("date_cia", &["cia", "date_conclusion_cia"]),
    ];

    fn item(row: &mut RowCtx<'_, '_>) -> Option<Epci> {
        let siren = row.required(0, str::parse);
        let name = row.required(1, name_text);
        let plh = row.required(2, yes_no);
        let competent = row.required(3, yes_no);
        let cia = row.optional(4, date);
        Some(Epci {
            siren: siren?,
            name: name?,
            plh_required: plh?,
            housing_competent: competent?,
            cia_concluded_on: cia?,
        })
    }

    fn key(item: &Epci) -> (String, usize) {
        (item.siren.to_string(), 0)
    }

    fn batch(items: Vec<Epci>, _: Option<Siren>) -> ImportBatch {
        ImportBatch::Epcis(items)
    }
}

struct CommuneFile;
impl FileFormat for CommuneFile {
    type Item = Commune;
    const SPEC: &'static [ColumnSpec] = &[
        required(
            "commune",
            &["insee", "code_insee", "code_commune", "depcom", "codgeo"],
        ),
        required("nom", &["nom_commune", "libelle", "libcom", "libgeo"]),
        optional("epci", &["siren_epci", "epci_siren"]),
    ];

    fn item(row: &mut RowCtx<'_, '_>) -> Option<Commune> {
        let insee: Option<InseeCode> = row.required(0, str::parse);
        let name = row.required(1, name_text);
        let epci: Option<Option<Siren>> = row.optional(2, str::parse);
        if let Some(Some(epci)) = &epci {
            row.refers(2, RefKind::Epci, epci.as_str());
        }
        Some(Commune {
            insee: insee?,
            name: name?,
            epci: epci?,
        })
    }

    fn key(item: &Commune) -> (String, usize) {
        (item.insee.to_string(), 0)
    }

    fn batch(items: Vec<Commune>, _: Option<Siren>) -> ImportBatch {
        ImportBatch::Communes(items)
    }
}

struct QpvFile;
impl FileFormat for QpvFile {
    type Item = Qpv;
    const SPEC: &'static [ColumnSpec] = &[
        required("code", &["code_qpv", "qpv"]),
        required("nom", &["nom_qpv", "libelle", "lib_qpv"]),
        required(
            "commune",
            &["insee", "code_insee", "code_commune", "depcom"],
        ),
    ];

    fn item(row: &mut RowCtx<'_, '_>) -> Option<Qpv> {
        let code: Option<QpvCode> = row.required(0, str::parse);
        let name = row.required(1, name_text);
        let commune: Option<InseeCode> = row.required(2, str::parse);
        if let Some(commune) = &commune {
            row.refers(2, RefKind::Commune, commune.as_str());
        }
        Some(Qpv {
            code: code?,
            name: name?,
            commune: commune?,
        })
    }

    fn key(item: &Qpv) -> (String, usize) {
        (item.code.to_string(), 0)
    }

    fn batch(items: Vec<Qpv>, _: Option<Siren>) -> ImportBatch {
        ImportBatch::Qpvs(items)
    }
}

struct BailleurFile;
impl FileFormat for BailleurFile {
    type Item = Bailleur;
    const SPEC: &'static [ColumnSpec] = &[
        required("siren", &["siren_bailleur"]),
        required("nom", &["raison_sociale", "denomination", "rs", "libelle"]),
    ];

    fn item(row: &mut RowCtx<'_, '_>) -> Option<Bailleur> {
        let siren = row.required(0, str::parse);
        let name = row.required(1, name_text);
        Some(Bailleur {
            siren: siren?,
            name: name?,
        })
    }

    fn key(item: &Bailleur) -> (String, usize) {
        (item.siren.to_string(), 0)
    }

    fn batch(items: Vec<Bailleur>, _: Option<Siren>) -> ImportBatch {
        ImportBatch::Bailleurs(items)
    }
}

struct ReservataireFile;
impl FileFormat for ReservataireFile {
    type Item = Reservataire;
    const SPEC: &'static [ColumnSpec] = &[
        required("identifiant", &["id", "code", "reservataire"]),
        required("nom", &["libelle", "denomination", "raison_sociale"]),
        required("type", &["nature", "categorie", "kind"]),
        required("fondement", &["fondement_droits", "basis"]),
        optional("territoire", &["perimetre", "territory"]),
    ];

    fn item(row: &mut RowCtx<'_, '_>) -> Option<Reservataire> {
        let id: Option<ReservataireId> = row.required(0, str::parse);
        let name = row.required(1, name_text);
        let kind: Option<ReservataireKind> = row.required(2, str::parse);
        let basis: Option<Basis> = row.required(3, str::parse);
        let territory = match kind? {
            // A commune's rights lie on its own territory (R.441-5 CCH): it must be known.
            ReservataireKind::Commune => {
                let insee: Option<InseeCode> = row.required(4, |v| {
                    v.parse().map_err(|_| {
                        InvalidValue::expected("le code INSEE de la commune réservataire")
                    })
                });
                if let Some(insee) = &insee {
                    row.refers(4, RefKind::Commune, insee.as_str());
                }
                Some(insee?.to_string())
            }
            ReservataireKind::Epci => {
                let siren: Option<Siren> = row.required(4, |v| {
                    v.parse()
                        .map_err(|_| InvalidValue::expected("le SIREN de l'EPCI réservataire"))
                });
                if let Some(siren) = &siren {
                    row.refers(4, RefKind::Epci, siren.as_str());
                }
                Some(siren?.to_string())
            }
            _ => row.optional(4, text)?.filter(|t| !t.is_empty()),
        };
        Some(Reservataire {
            id: id?,
            name: name?,
            kind: kind?,
            basis: basis?,
            territory,
        })
    }

    fn key(item: &Reservataire) -> (String, usize) {
        (item.id.to_string(), 0)
    }

    fn batch(items: Vec<Reservataire>, _: Option<Siren>) -> ImportBatch {
        ImportBatch::Reservataires(items)
    }
}

fn individual(value: &str) -> Result<bool, InvalidValue> {
    match crate::domain::text::fold_label(value).as_str() {
        "i" | "individuel" => Ok(true),
        "c" | "collectif" => Ok(false),
        _ => parse_yes_no(value).ok_or(InvalidValue::expected(
            "oui (individuel) ou non (collectif), ou I / C",
        )),
    }
}

struct LogementFile;
impl FileFormat for LogementFile {
    type Item = Logement;
    const SPEC: &'static [ColumnSpec] = &[
        required(
            "rpls_id",
            &[
                "identifiant_rpls",
                "id_rpls",
                "rpls",
                "numero_rpls",
                "num_rpls",
                "idlogt",
            ],
        ),
        required(
            "commune",
            &["depcom", "code_commune", "insee", "code_insee"],
        ),
        required("qpv", &["code_qpv", "qpv_code"]),
        required(
            "typologie",
            &["typo", "nbpiece", "nb_pieces", "nombre_de_pieces"],
        ),
        required(
            "financement",
            &["finan", "financement_initial", "finan_cus"],
        ),
        required(
            "individuel",
            &["typeconst", "type_construction", "individuel_collectif"],
        ),
        required(
            "annee_construction",
            &["construct", "annee_de_construction", "annee_achevement"],
        ),
        optional("hors_flux", &["motif_hors_flux", "hors_flux_motif"]),
    ];

    fn item(row: &mut RowCtx<'_, '_>) -> Option<Logement> {
        let rpls_id: Option<RplsId> = row.required(0, str::parse);
        let commune: Option<InseeCode> = row.required(1, str::parse);
        if let Some(commune) = &commune {
            row.refers(1, RefKind::Commune, commune.as_str());
        }
        let qpv: Option<Option<QpvCode>> = row.optional(2, str::parse);
        if let Some(Some(qpv)) = &qpv {
            row.refers(2, RefKind::Qpv, qpv.as_str());
        }
        let typology: Option<Typology> = row.required(3, str::parse);
        let financing: Option<Financing> = row.required(4, str::parse);
        let individual = row.required(5, individual);
        let construction_year = row.required(6, year);
        let outside_flux = row.optional(7, text);
        Some(Logement {
            rpls_id: rpls_id?,
            bailleur: row.bailleur(),
            commune: commune?,
            qpv: qpv?,
            typology: typology?,
            financing: financing?,
            individual: individual?,
            construction_year: construction_year?,
            outside_flux: outside_flux?,
        })
    }

    fn key(item: &Logement) -> (String, usize) {
        (item.rpls_id.to_string(), 0)
    }

    fn batch(items: Vec<Logement>, bailleur: Option<Siren>) -> ImportBatch {
        ImportBatch::Logements(bailleur.unwrap_or_else(no_bailleur), items)
    }
}

fn no_bailleur() -> Siren {
    unreachable!("parse_file checks that the patrimoine files have a bailleur")
}

struct StockFile;
impl FileFormat for StockFile {
    type Item = StockReservation;
    const SPEC: &'static [ColumnSpec] = &[
        required(
            "rpls_id",
            &["identifiant_rpls", "id_rpls", "rpls", "numero_rpls"],
        ),
        required(
            "reservataire",
            &["identifiant_reservataire", "reservataire_id"],
        ),
        required("fondement", &["fondement_droits", "basis", "contrepartie"]),
        optional("date_fin", &["fin", "date_fin_convention", "echeance"]),
    ];

    fn item(row: &mut RowCtx<'_, '_>) -> Option<StockReservation> {
        let rpls_id: Option<RplsId> = row.required(0, str::parse);
        if let Some(id) = &rpls_id {
            row.refers(0, RefKind::Logement, id.as_str());
        }
        let reservataire: Option<ReservataireId> = row.required(1, str::parse);
        if let Some(id) = &reservataire {
            row.refers(1, RefKind::Reservataire, id.as_str());
        }
        let basis: Option<Basis> = row.required(2, str::parse);
        let end_date = row.optional(3, date);
        Some(StockReservation {
            rpls_id: rpls_id?,
            reservataire: reservataire?,
            basis: basis?,
            end_date: end_date?,
        })
    }

    fn key(item: &StockReservation) -> (String, usize) {
        (format!("{}|{}", item.rpls_id, item.reservataire), 0)
    }

    fn batch(items: Vec<StockReservation>, bailleur: Option<Siren>) -> ImportBatch {
        ImportBatch::StockReservations(bailleur.unwrap_or_else(no_bailleur), items)
    }
}

struct ReleaseFile;
impl FileFormat for ReleaseFile {
    type Item = Release;
    const SPEC: &'static [ColumnSpec] = &[
        required(
            "rpls_id",
            &["identifiant_rpls", "id_rpls", "rpls", "numero_rpls"],
        ),
        required(
            "date_liberation",
            &["date", "date_de_liberation", "date_conge", "date_sortie"],
        ),
    ];

    fn item(row: &mut RowCtx<'_, '_>) -> Option<Release> {
        let rpls_id: Option<RplsId> = row.required(0, str::parse);
        if let Some(id) = &rpls_id {
            row.refers(0, RefKind::Logement, id.as_str());
        }
        let released = row.required(1, date);
        Some(Release {
            rpls_id: rpls_id?,
            date: released?,
        })
    }

    fn key(item: &Release) -> (String, usize) {
        (format!("{}|{}", item.rpls_id, item.date), 1)
    }

    fn batch(items: Vec<Release>, bailleur: Option<Siren>) -> ImportBatch {
        ImportBatch::Releases(bailleur.unwrap_or_else(no_bailleur), items)
    }
}

fn exclusion_year(value: &str) -> Result<i32, InvalidValue> {
    value
        .parse::<i32>()
        .ok()
        .filter(|y| (2000..=2200).contains(y))
        .ok_or(InvalidValue::expected(
            "une année sur 4 chiffres (ex. 2027)",
        ))
}

fn qpv_flag(value: &str) -> Result<bool, InvalidValue> {
    parse_yes_no(value).ok_or(InvalidValue::expected(
        "oui (en QPV), non (hors QPV) ou vide (les deux)",
    ))
}

struct ExclusionFile;
impl FileFormat for ExclusionFile {
    type Item = PlannedExclusion;
    const SPEC: &'static [ColumnSpec] = &[
        required("annee", &["year", "exercice"]),
        required("categorie", &["category", "motif", "type"]),
        optional(
            "commune",
            &["depcom", "code_commune", "insee", "code_insee"],
        ),
        optional("typologie", &["typo"]),
        optional("qpv", &["en_qpv"]),
        required("nombre", &["nb", "nb_logements", "quantite"]),
    ];

    fn item(row: &mut RowCtx<'_, '_>) -> Option<PlannedExclusion> {
        let year = row.required(0, exclusion_year);
        let category: Option<ExclusionCategory> = row.required(1, str::parse);
        let commune: Option<Option<InseeCode>> = row.optional(2, str::parse);
        if let Some(Some(commune)) = &commune {
            row.refers(2, RefKind::Commune, commune.as_str());
        }
        let typology: Option<Option<Typology>> = row.optional(3, str::parse);
        let qpv = row.optional(4, qpv_flag);
        let count = row.required(5, parse_count);
        Some(PlannedExclusion {
            bailleur: row.bailleur(),
            year: year?,
            category: category?,
            commune: commune?,
            typology: typology?,
            qpv: qpv?,
            count: count?,
        })
    }

    fn key(item: &PlannedExclusion) -> (String, usize) {
        let key = format!(
            "{}|{}|{}|{}|{:?}",
            item.year,
            item.category,
            item.commune.as_ref().map_or("", |c| c.as_str()),
            item.typology.map_or("", Typology::label),
            item.qpv
        );
        (key, 1)
    }

    fn batch(items: Vec<PlannedExclusion>, bailleur: Option<Siren>) -> ImportBatch {
        ImportBatch::Exclusions(bailleur.unwrap_or_else(no_bailleur), items)
    }
}

/// The columns of each kind, for documentation and error messages.
pub fn columns(kind: ImportKind) -> &'static [ColumnSpec] {
    match kind {
        ImportKind::Epci => EpciFile::SPEC,
        ImportKind::Communes => CommuneFile::SPEC,
        ImportKind::Qpv => QpvFile::SPEC,
        ImportKind::Bailleurs => BailleurFile::SPEC,
        ImportKind::Reservataires => ReservataireFile::SPEC,
        ImportKind::Logements => LogementFile::SPEC,
        ImportKind::ReservationsStock => StockFile::SPEC,
        ImportKind::Liberations => ReleaseFile::SPEC,
        ImportKind::Exclusions => ExclusionFile::SPEC,
    }
}
