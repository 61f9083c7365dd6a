-- Conventions, accounts, versions, signatures and the audit chain (DESIGN §3, §5).
-- Timestamps are RFC 3339 UTC text with milliseconds: the same text is sealed and hashed, so it
-- must read back byte for byte. JSON documents are stored as canonical text.

CREATE TABLE organisation (
    id        INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL CHECK (kind IN ('epci', 'reservataire', 'bailleur', 'autre')),
    name      TEXT NOT NULL CHECK (name <> ''),
    reference TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, reference, name)
);

CREATE TABLE app_user (
    id              INTEGER PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE CHECK (email <> ''),
    name            TEXT NOT NULL CHECK (name <> ''),
    organisation_id INTEGER NOT NULL REFERENCES organisation (id),
    password_hash   TEXT,
    created_at      TEXT NOT NULL
);

CREATE TABLE convention (
    id                INTEGER PRIMARY KEY,
    epci_siren        TEXT NOT NULL REFERENCES epci (siren),
    bailleur_siren    TEXT NOT NULL REFERENCES bailleur (siren),
    year              INTEGER NOT NULL,
    title             TEXT NOT NULL CHECK (title <> ''),
    state             TEXT NOT NULL CHECK (state IN ('brouillon', 'concertation', 'arbitrage',
                          'signature', 'signee', 'en_vigueur', 'abandonnee')),
    approval_required INTEGER NOT NULL,
    current_version   INTEGER,
    signed_version    INTEGER,
    revision          INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    created_by        INTEGER NOT NULL REFERENCES app_user (id)
);

CREATE TABLE party (
    convention_id   INTEGER NOT NULL REFERENCES convention (id),
    party           TEXT NOT NULL CHECK (party <> ''),
    kind            TEXT NOT NULL CHECK (kind IN ('secretariat', 'reservataire', 'bailleur')),
    name            TEXT NOT NULL,
    reservataire_kind TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (convention_id, party)
);

CREATE TABLE member (
    convention_id INTEGER NOT NULL REFERENCES convention (id),
    user_id       INTEGER NOT NULL REFERENCES app_user (id),
    role          TEXT NOT NULL CHECK (role IN ('secretariat', 'contributor', 'signatory', 'observer')),
    party         TEXT NOT NULL DEFAULT '',
    mandate       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (convention_id, user_id)
);
CREATE INDEX member_by_user ON member (user_id);

CREATE TABLE invitation (
    id            INTEGER PRIMARY KEY,
    convention_id INTEGER NOT NULL REFERENCES convention (id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    organisation  TEXT NOT NULL,
    role          TEXT NOT NULL,
    party         TEXT NOT NULL DEFAULT '',
    mandate       TEXT NOT NULL DEFAULT '',
    token_digest  TEXT NOT NULL UNIQUE,
    expires_at    TEXT NOT NULL,
    used_at       TEXT,
    invited_by    INTEGER NOT NULL REFERENCES app_user (id)
);

CREATE TABLE version (
    id            INTEGER PRIMARY KEY,
    convention_id INTEGER NOT NULL REFERENCES convention (id),
    number        INTEGER NOT NULL CHECK (number >= 1),
    parent_hash   TEXT,
    hash          TEXT NOT NULL UNIQUE,
    document      TEXT NOT NULL,
    author_id     INTEGER NOT NULL REFERENCES app_user (id),
    reason        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    locked        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (convention_id, number)
);

CREATE TABLE proposal (
    convention_id INTEGER NOT NULL REFERENCES convention (id),
    party         TEXT NOT NULL,
    draft         TEXT,
    published     TEXT,
    updated_at    TEXT NOT NULL,
    published_at  TEXT,
    PRIMARY KEY (convention_id, party)
);

CREATE TABLE comment (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id),
    version_number INTEGER NOT NULL,
    anchor_kind    TEXT NOT NULL CHECK (anchor_kind IN ('clause', 'objective', 'proposal', 'cell')),
    anchor_ref     TEXT NOT NULL,
    parent_id      INTEGER REFERENCES comment (id),
    author_id      INTEGER NOT NULL REFERENCES app_user (id),
    party          TEXT NOT NULL DEFAULT '',
    body           TEXT NOT NULL CHECK (body <> ''),
    objection      INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('ouvert', 'resolu', 'passe_outre')),
    resolution     TEXT,
    resolved_by    INTEGER REFERENCES app_user (id),
    created_at     TEXT NOT NULL,
    resolved_at    TEXT
);
CREATE INDEX comment_by_convention ON comment (convention_id);

CREATE TABLE signing_round (
    id            INTEGER PRIMARY KEY,
    convention_id INTEGER NOT NULL REFERENCES convention (id),
    version_hash  TEXT NOT NULL REFERENCES version (hash),
    required      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('ouverte', 'terminee', 'annulee')),
    opened_by     INTEGER NOT NULL REFERENCES app_user (id),
    opened_at     TEXT NOT NULL,
    deadline      TEXT,
    closed_at     TEXT,
    close_reason  TEXT
);
CREATE INDEX round_by_convention ON signing_round (convention_id);

CREATE TABLE signature (
    id            INTEGER PRIMARY KEY,
    round_id      INTEGER NOT NULL REFERENCES signing_round (id),
    convention_id INTEGER NOT NULL REFERENCES convention (id),
    version_hash  TEXT NOT NULL REFERENCES version (hash),
    party         TEXT NOT NULL,
    signer_id     INTEGER NOT NULL REFERENCES app_user (id),
    record        TEXT NOT NULL,
    seal          TEXT NOT NULL,
    UNIQUE (round_id, party)
);
CREATE INDEX signature_by_convention ON signature (convention_id);

CREATE TABLE audit_event (
    convention_id INTEGER NOT NULL REFERENCES convention (id),
    seq           INTEGER NOT NULL,
    at            TEXT NOT NULL,
    actor         TEXT,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL,
    PRIMARY KEY (convention_id, seq)
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    created_at      TEXT NOT NULL,
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    attachments     TEXT NOT NULL DEFAULT '[]',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    sent_at         TEXT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);

-- Immutability, enforced by the database itself (DESIGN §3): a version never changes except
-- to become locked; a locked version and its signatures can be neither changed nor deleted;
-- signatures are never rewritten; the audit chain is append-only.
CREATE TRIGGER version_immutable BEFORE UPDATE ON version
WHEN OLD.locked = 1
  OR NEW.document IS NOT OLD.document OR NEW.hash IS NOT OLD.hash
  OR NEW.number IS NOT OLD.number OR NEW.parent_hash IS NOT OLD.parent_hash
  OR NEW.convention_id IS NOT OLD.convention_id OR NEW.author_id IS NOT OLD.author_id
  OR NEW.reason IS NOT OLD.reason OR NEW.created_at IS NOT OLD.created_at
BEGIN
  SELECT RAISE(ABORT, 'version verrouillée ou immuable : modification refusée');
END;

CREATE TRIGGER version_no_delete BEFORE DELETE ON version
BEGIN
  SELECT RAISE(ABORT, 'une version ne peut pas être supprimée');
END;

CREATE TRIGGER signature_no_update BEFORE UPDATE ON signature
BEGIN
  SELECT RAISE(ABORT, 'une signature ne peut pas être modifiée');
END;

CREATE TRIGGER signature_locked_delete BEFORE DELETE ON signature
WHEN (SELECT locked FROM version WHERE hash = OLD.version_hash) = 1
BEGIN
  SELECT RAISE(ABORT, 'signature d''une version verrouillée : suppression refusée');
END;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_event
BEGIN
  SELECT RAISE(ABORT, 'le journal d''audit est en ajout seul');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_event
BEGIN
  SELECT RAISE(ABORT, 'le journal d''audit est en ajout seul');
END;
