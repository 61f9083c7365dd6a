-- The CIA of each EPCI (issue 20): its objectives, versioned like a convention's document.
-- Each version is the canonical JSON text of the CIA at that version and its SHA-256; every
-- convention of the EPCI records the hash of the version it restates. A version never
-- changes and is never deleted: a new one is added, with its author and reason.
CREATE TABLE cia_version (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    epci_siren  TEXT NOT NULL REFERENCES epci (siren),
    number      BIGINT NOT NULL CHECK (number >= 1),
    parent_hash TEXT,
    hash        TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    document    TEXT NOT NULL,
    author_id   BIGINT NOT NULL REFERENCES app_user (id),
    reason      TEXT NOT NULL CHECK (reason <> ''),
    created_at  TEXT NOT NULL,
    UNIQUE (epci_siren, number)
);

CREATE TRIGGER cia_version_no_update BEFORE UPDATE ON cia_version FOR EACH ROW
EXECUTE FUNCTION refuse_change('une version de la CIA ne peut pas être modifiée');

CREATE TRIGGER cia_version_no_delete BEFORE DELETE ON cia_version FOR EACH ROW
EXECUTE FUNCTION refuse_change('une version de la CIA ne peut pas être supprimée');
