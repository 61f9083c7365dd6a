-- Territory and patrimoine (DESIGN §4.0). Dates are ISO-8601 text, booleans 0/1.

CREATE TABLE epci (
    siren             TEXT PRIMARY KEY CHECK (length(siren) = 9),
    name              TEXT NOT NULL CHECK (name <> ''),
    plh_required      INTEGER NOT NULL CHECK (plh_required IN (0, 1)),
    housing_competent INTEGER NOT NULL CHECK (housing_competent IN (0, 1)),
    cia_concluded_on  TEXT CHECK (cia_concluded_on IS NULL OR date(cia_concluded_on) = cia_concluded_on)
) STRICT;

CREATE TABLE commune (
    insee      TEXT PRIMARY KEY CHECK (length(insee) = 5),
    name       TEXT NOT NULL CHECK (name <> ''),
    epci_siren TEXT REFERENCES epci (siren)
) STRICT;
CREATE INDEX commune_by_epci ON commune (epci_siren);

CREATE TABLE qpv (
    code          TEXT PRIMARY KEY CHECK (length(code) = 8),
    name          TEXT NOT NULL CHECK (name <> ''),
    commune_insee TEXT NOT NULL REFERENCES commune (insee)
) STRICT;
CREATE INDEX qpv_by_commune ON qpv (commune_insee);

CREATE TABLE bailleur (
    siren TEXT PRIMARY KEY CHECK (length(siren) = 9),
    name  TEXT NOT NULL CHECK (name <> '')
) STRICT;

CREATE TABLE reservataire (
    id        TEXT PRIMARY KEY CHECK (id <> ''),
    name      TEXT NOT NULL CHECK (name <> ''),
    kind      TEXT NOT NULL CHECK (kind IN ('etat', 'etat_fonctionnaires', 'commune', 'epci',
                                             'action_logement', 'departement', 'region', 'autre')),
    basis     TEXT NOT NULL CHECK (basis IN ('garantie_emprunt', 'apport_terrain', 'financement',
                                               'contingent_prefectoral', 'fonctionnaires',
                                               'action_logement', 'autre')),
    territory TEXT
) STRICT;

CREATE TABLE logement (
    rpls_id           TEXT PRIMARY KEY CHECK (rpls_id <> ''),
    bailleur_siren    TEXT NOT NULL REFERENCES bailleur (siren),
    commune_insee     TEXT NOT NULL REFERENCES commune (insee),
    qpv_code          TEXT REFERENCES qpv (code),
    typology          TEXT NOT NULL CHECK (typology IN ('T1', 'T2', 'T3', 'T4', 'T5', 'T6+')),
    financing         TEXT NOT NULL CHECK (financing IN ('PLAI', 'PLUS', 'PLS', 'PLI', 'autre')),
    individual        INTEGER NOT NULL CHECK (individual IN (0, 1)),
    construction_year INTEGER NOT NULL CHECK (construction_year BETWEEN 1800 AND 2200),
    outside_flux      TEXT CHECK (outside_flux IS NULL OR outside_flux <> '')
) STRICT;
CREATE INDEX logement_by_bailleur ON logement (bailleur_siren, commune_insee, typology);

CREATE TABLE stock_reservation (
    rpls_id         TEXT NOT NULL REFERENCES logement (rpls_id),
    reservataire_id TEXT NOT NULL REFERENCES reservataire (id),
    basis           TEXT NOT NULL CHECK (basis IN ('garantie_emprunt', 'apport_terrain', 'financement',
                                                     'contingent_prefectoral', 'fonctionnaires',
                                                     'action_logement', 'autre')),
    end_date        TEXT CHECK (end_date IS NULL OR date(end_date) = end_date),
    PRIMARY KEY (rpls_id, reservataire_id)
) STRICT;
CREATE INDEX stock_reservation_by_reservataire ON stock_reservation (reservataire_id);

CREATE TABLE logement_release (
    rpls_id     TEXT NOT NULL REFERENCES logement (rpls_id),
    released_on TEXT NOT NULL CHECK (date(released_on) = released_on),
    PRIMARY KEY (rpls_id, released_on)
) STRICT;

-- Empty text in commune_insee, typology or qpv means "every segment": the natural key must be
-- NOT NULL to be unique.
CREATE TABLE planned_exclusion (
    bailleur_siren TEXT NOT NULL REFERENCES bailleur (siren),
    year           INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 2200),
    category       TEXT NOT NULL CHECK (category IN ('mutation', 'npru', 'orcod', 'habitat_indigne',
                                                       'vente', 'demolition')),
    commune_insee  TEXT NOT NULL DEFAULT '',
    typology       TEXT NOT NULL DEFAULT '' CHECK (typology IN ('', 'T1', 'T2', 'T3', 'T4', 'T5', 'T6+')),
    qpv            TEXT NOT NULL DEFAULT '' CHECK (qpv IN ('', 'oui', 'non')),
    count          INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (bailleur_siren, year, category, commune_insee, typology, qpv)
) STRICT;
