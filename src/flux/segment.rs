//! Segments: the cells of a bailleur's patrimoine over which the flux is counted and shared
//! (DESIGN §2, §4.1). Commune and QPV flag are always axes: a collectivité's rights lie on its
//! own territory and the CIA objectives count QPV and non-QPV attributions apart (RULES.md §2,
//! §4). Typology (by default) and financing are optional axes.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::domain::text::fold_label;
use crate::domain::{Financing, InseeCode, Logement, Typology};

/// Which optional axes cut the patrimoine into segments, besides commune and QPV flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SegmentAxes {
    pub typology: bool,
    pub financing: bool,
}

impl Default for SegmentAxes {
    /// commune × typology × QPV flag (DESIGN §2).
    fn default() -> Self {
        Self {
            typology: true,
            financing: false,
        }
    }
}

impl SegmentAxes {
    /// The axes in the order of the command line: `commune`, `typologie`, `qpv`, `financement`.
    pub fn labels(self) -> Vec<&'static str> {
        let mut labels = vec!["commune"];
        if self.typology {
            labels.push("typologie");
        }
        labels.push("qpv");
        if self.financing {
            labels.push("financement");
        }
        labels
    }
}

impl fmt::Display for SegmentAxes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.labels().join(","))
    }
}

impl Serialize for SegmentAxes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.labels())
    }
}

impl FromStr for SegmentAxes {
    type Err = String;

    /// Parses `commune,typologie,qpv,financement` (any order, `;` or spaces also separate).
    /// Commune and QPV flag are kept even when not named, since the rules need them.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let mut axes = SegmentAxes {
            typology: false,
            financing: false,
        };
        let mut named = 0;
        for word in value
            .split([',', ';', ' '])
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            named += 1;
            match fold_label(word).as_str() {
                "commune" | "communes" => {}
                "qpv" => {}
                "typologie" | "typologies" | "typology" | "typo" => axes.typology = true,
                "financement" | "financements" | "financing" | "finan" => axes.financing = true,
                _ => {
                    return Err(format!(
                        "axe de segmentation « {word} » inconnu (axes admis : commune, typologie, qpv, financement)"
                    ));
                }
            }
        }
        if named == 0 {
            return Err(
                "aucun axe de segmentation : indiquez par exemple commune,typologie,qpv".into(),
            );
        }
        Ok(axes)
    }
}

/// The cell a dwelling belongs to. Optional axes that are not used are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SegmentKey {
    pub commune: InseeCode,
    pub qpv: bool,
    pub typology: Option<Typology>,
    pub financing: Option<Financing>,
}

impl SegmentKey {
    pub fn of(logement: &Logement, axes: SegmentAxes) -> Self {
        Self {
            commune: logement.commune.clone(),
            qpv: logement.qpv.is_some(),
            typology: axes.typology.then_some(logement.typology),
            financing: axes.financing.then_some(logement.financing),
        }
    }

    /// `69123-T3-H` (H: hors QPV, Q: en QPV), `69123-T3-H-PLUS` with financing, `69123-H`
    /// without typology.
    pub fn id(&self) -> String {
        let mut id = self.commune.as_str().to_owned();
        if let Some(typology) = self.typology {
            id.push('-');
            id.push_str(typology.label());
        }
        id.push_str(if self.qpv { "-Q" } else { "-H" });
        if let Some(financing) = self.financing {
            id.push('-');
            id.push_str(financing.label());
        }
        id
    }

    /// Whether the segment lies inside a filter whose `None` fields mean "all". A typology
    /// filter only decides here when typology is an axis; otherwise the caller weighs the part
    /// of the segment of that typology.
    pub fn within(
        &self,
        commune: Option<&InseeCode>,
        typology: Option<Typology>,
        qpv: Option<bool>,
    ) -> bool {
        commune.is_none_or(|c| *c == self.commune)
            && qpv.is_none_or(|q| q == self.qpv)
            && match (typology, self.typology) {
                (Some(wanted), Some(own)) => wanted == own,
                _ => true,
            }
    }
}

/// The commune code, the typology (« toutes » without that axis) and the QPV flag of a
/// segment id (`69123-T3-H`, `69123-Q`, `69123-T3-H-PLUS`).
pub fn id_parts(id: &str) -> (&str, &str, bool) {
    let mut parts = id.split('-');
    let commune = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let typology = rest.first().filter(|t| t.starts_with('T')).copied();
    (commune, typology.unwrap_or("toutes"), rest.contains(&"Q"))
}

/// A segment id in words, `commune` being the name of its commune: « T3 hors QPV à
/// Villeurbanne », « en QPV à Lyon » without the typology axis.
pub fn id_in_words(id: &str, commune: &str) -> String {
    let (_, typology, qpv) = id_parts(id);
    let qpv = if qpv { "en QPV" } else { "hors QPV" };
    if typology == "toutes" {
        format!("{qpv} à {commune}")
    } else {
        format!("{typology} {qpv} à {commune}")
    }
}

impl Ord for SegmentKey {
    /// In the order of the id: commune, typology, QPV flag (hors QPV first), financing.
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.commune, self.typology, self.qpv, self.financing).cmp(&(
            &other.commune,
            other.typology,
            other.qpv,
            other.financing,
        ))
    }
}

impl PartialOrd for SegmentKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(commune: &str, typology: Option<Typology>, qpv: bool) -> SegmentKey {
        SegmentKey {
            commune: commune.parse().unwrap(),
            qpv,
            typology,
            financing: None,
        }
    }

    #[test]
    fn ids_name_every_axis_in_use() {
        assert_eq!(key("69123", Some(Typology::T3), false).id(), "69123-T3-H");
        assert_eq!(key("69123", None, true).id(), "69123-Q");
        let mut with_financing = key("69123", Some(Typology::T3), false);
        with_financing.financing = Some(Financing::Plus);
        assert_eq!(with_financing.id(), "69123-T3-H-PLUS");
        assert_eq!(
            key("2A004", Some(Typology::T6Plus), true).id(),
            "2A004-T6+-Q"
        );
    }

    #[test]
    fn keys_sort_by_commune_typology_then_qpv() {
        let mut keys = [
            key("69266", Some(Typology::T1), false),
            key("69123", Some(Typology::T3), true),
            key("69123", Some(Typology::T3), false),
            key("69123", Some(Typology::T2), true),
        ];
        keys.sort();
        let ids: Vec<String> = keys.iter().map(SegmentKey::id).collect();
        assert_eq!(
            ids,
            ["69123-T2-Q", "69123-T3-H", "69123-T3-Q", "69266-T1-H"]
        );
    }

    #[test]
    fn axes_parse_from_the_command_line() {
        assert_eq!(
            "commune,typologie,qpv".parse::<SegmentAxes>(),
            Ok(SegmentAxes::default())
        );
        let all: SegmentAxes = "Commune, Typologie, QPV, Financement".parse().unwrap();
        assert_eq!(
            all,
            SegmentAxes {
                typology: true,
                financing: true
            }
        );
        assert_eq!(all.to_string(), "commune,typologie,qpv,financement");
        let minimal: SegmentAxes = "commune,qpv".parse().unwrap();
        assert_eq!(minimal.to_string(), "commune,qpv");
        let error = "commune,surface".parse::<SegmentAxes>().unwrap_err();
        assert!(error.contains("« surface »"), "{error}");
        assert!("".parse::<SegmentAxes>().is_err());
    }

    #[test]
    fn filters_match_on_the_axes_in_use() {
        let lyon: InseeCode = "69123".parse().unwrap();
        let t3 = key("69123", Some(Typology::T3), true);
        assert!(t3.within(None, None, None));
        assert!(t3.within(Some(&lyon), Some(Typology::T3), Some(true)));
        assert!(!t3.within(Some(&lyon), Some(Typology::T4), None));
        assert!(!t3.within(None, None, Some(false)));
        assert!(!t3.within(Some(&"69266".parse().unwrap()), None, None));
        // Without the typology axis, every segment may hold dwellings of the filtered typology.
        assert!(key("69123", None, true).within(None, Some(Typology::T4), None));
    }
}
