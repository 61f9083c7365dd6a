-- Territory and patrimoine (DESIGN §4.0).

CREATE TABLE epci (
    siren             TEXT PRIMARY KEY CHECK (siren ~ '^[0-9]{9}$'),
    name              TEXT NOT NULL CHECK (name <> ''),
    plh_required      BOOLEAN NOT NULL,
    housing_competent BOOLEAN NOT NULL,
    cia_concluded_on  DATE
);

CREATE TABLE commune (
    insee      TEXT PRIMARY KEY CHECK (insee ~ '^([0-9]{2}|2A|2B)[0-9]{3}$'),
    name       TEXT NOT NULL CHECK (name <> ''),
    epci_siren TEXT REFERENCES epci (siren)
);
CREATE INDEX commune_by_epci ON commune (epci_siren);

CREATE TABLE qpv (
    code          TEXT PRIMARY KEY CHECK (code ~ '^Q[PN][0-9A-Z]{6}$'),
    name          TEXT NOT NULL CHECK (name <> ''),
    commune_insee TEXT NOT NULL REFERENCES commune (insee)
);
CREATE INDEX qpv_by_commune ON qpv (commune_insee);

CREATE TABLE bailleur (
    siren TEXT PRIMARY KEY CHECK (siren ~ '^[0-9]{9}$'),
    name  TEXT NOT NULL CHECK (name <> '')
);


CREATE TABLE reservataire (
    id        TEXT PRIMARY KEY CHECK (id <> ''),
    name      TEXT NOT NULL CHECK (name <> ''),
    kind      TEXT NOT NULL CHECK (kind IN ('etat', 'etat_fonctionnaires', 'commune', 'epci',
                                             'action_logement', 'departement', 'region', 'autre')),
    basis     TEXT NOT NULL CHECK (basis IN ('garantie_emprunt', 'apport_terrain', 'financement',
                                               'contingent_prefectoral', 'fonctionnaires',
                                               'action_logement', 'autre')),
    territory TEXT
);

CREATE TABLE logement (
    rpls_id           TEXT PRIMARY KEY CHECK (rpls_id <> ''),
    bailleur_siren    TEXT NOT NULL REFERENCES bailleur (siren),
    commune_insee     TEXT NOT NULL REFERENCES commune (insee),
    qpv_code          TEXT REFERENCES qpv (code),
    typology          TEXT NOT NULL CHECK (typology IN ('T1', 'T2', 'T3', 'T4', 'T5', 'T6+')),
    financing         TEXT NOT NULL CHECK (financing IN ('PLAI', 'PLUS', 'PLS', 'PLI', 'autre')),
    individual        BOOLEAN NOT NULL,
    construction_year INTEGER NOT NULL CHECK (construction_year BETWEEN 1800 AND 2200),
    outside_flux      TEXT CHECK (outside_flux IS NULL OR outside_flux <> '')
);
CREATE INDEX logement_by_bailleur ON logement (bailleur_siren, commune_insee, typology);

CREATE TABLE stock_reservation (
    rpls_id         TEXT NOT NULL REFERENCES logement (rpls_id),
    reservataire_id TEXT NOT NULL REFERENCES reservataire (id),
    basis           TEXT NOT NULL CHECK (basis IN ('garantie_emprunt', 'apport_terrain', 'financement',
                                                     'contingent_prefectoral', 'fonctionnaires',
                                                     'action_logement', 'autre')),
    end_date        DATE,
    PRIMARY KEY (rpls_id, reservataire_id)
);
CREATE INDEX stock_reservation_by_reservataire ON stock_reservation (reservataire_id);

CREATE TABLE logement_release (
    rpls_id     TEXT NOT NULL REFERENCES logement (rpls_id),
    released_on DATE NOT NULL,
    PRIMARY KEY (rpls_id, released_on)
);

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
    count          BIGINT NOT NULL CHECK (count >= 0),
    PRIMARY KEY (bailleur_siren, year, category, commune_insee, typology, qpv)
);
