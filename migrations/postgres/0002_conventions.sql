-- Conventions, accounts, versions, signatures and the audit chain (DESIGN §3, §5).
-- Timestamps are RFC 3339 UTC text with milliseconds: the same text is sealed and hashed, so it
-- must read back byte for byte. JSON documents are stored as canonical text.

CREATE TABLE organisation (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind      TEXT NOT NULL CHECK (kind IN ('epci', 'reservataire', 'bailleur', 'autre')),
    name      TEXT NOT NULL CHECK (name <> ''),
    reference TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, reference, name)
);

CREATE TABLE app_user (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE CHECK (email <> ''),
    name            TEXT NOT NULL CHECK (name <> ''),
    organisation_id BIGINT NOT NULL REFERENCES organisation (id),
    password_hash   TEXT,
    created_at      TEXT NOT NULL
);

CREATE TABLE convention (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    epci_siren        TEXT NOT NULL REFERENCES epci (siren),
    bailleur_siren    TEXT NOT NULL REFERENCES bailleur (siren),
    year              BIGINT NOT NULL,
    title             TEXT NOT NULL CHECK (title <> ''),
    state             TEXT NOT NULL CHECK (state IN ('brouillon', 'concertation', 'arbitrage',
                          'signature', 'signee', 'en_vigueur', 'abandonnee')),
    approval_required BOOLEAN NOT NULL,
    current_version   BIGINT,
    signed_version    BIGINT,
    revision          BIGINT NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    created_by        BIGINT NOT NULL REFERENCES app_user (id)
);

CREATE TABLE party (
    convention_id   BIGINT NOT NULL REFERENCES convention (id),
    party           TEXT NOT NULL CHECK (party <> ''),
    kind            TEXT NOT NULL CHECK (kind IN ('secretariat', 'reservataire', 'bailleur')),
    name            TEXT NOT NULL,
    reservataire_kind TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (convention_id, party)
);

CREATE TABLE member (
    convention_id BIGINT NOT NULL REFERENCES convention (id),
    user_id       BIGINT NOT NULL REFERENCES app_user (id),
    role          TEXT NOT NULL CHECK (role IN ('secretariat', 'contributor', 'signatory', 'observer')),
    party         TEXT NOT NULL DEFAULT '',
    mandate       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (convention_id, user_id)
);
CREATE INDEX member_by_user ON member (user_id);

CREATE TABLE invitation (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    convention_id BIGINT NOT NULL REFERENCES convention (id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    organisation  TEXT NOT NULL,
    role          TEXT NOT NULL,
    party         TEXT NOT NULL DEFAULT '',
    mandate       TEXT NOT NULL DEFAULT '',
    token_digest  TEXT NOT NULL UNIQUE,
    expires_at    TEXT NOT NULL,
    used_at       TEXT,
    invited_by    BIGINT NOT NULL REFERENCES app_user (id)
);

CREATE TABLE version (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    convention_id BIGINT NOT NULL REFERENCES convention (id),
    number        BIGINT NOT NULL CHECK (number >= 1),
    parent_hash   TEXT,
    hash          TEXT NOT NULL UNIQUE,
    document      TEXT NOT NULL,
    author_id     BIGINT NOT NULL REFERENCES app_user (id),
    reason        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    locked        BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (convention_id, number)
);

CREATE TABLE proposal (
    convention_id BIGINT NOT NULL REFERENCES convention (id),
    party         TEXT NOT NULL,
    draft         TEXT,
    published     TEXT,
    updated_at    TEXT NOT NULL,
    published_at  TEXT,
    PRIMARY KEY (convention_id, party)
);

CREATE TABLE comment (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    convention_id  BIGINT NOT NULL REFERENCES convention (id),
    version_number BIGINT NOT NULL,
    anchor_kind    TEXT NOT NULL CHECK (anchor_kind IN ('clause', 'objective', 'proposal', 'cell')),
    anchor_ref     TEXT NOT NULL,
    parent_id      BIGINT REFERENCES comment (id),
    author_id      BIGINT NOT NULL REFERENCES app_user (id),
    party          TEXT NOT NULL DEFAULT '',
    body           TEXT NOT NULL CHECK (body <> ''),
    objection      BOOLEAN NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('ouvert', 'resolu', 'passe_outre')),
    resolution     TEXT,
    resolved_by    BIGINT REFERENCES app_user (id),
    created_at     TEXT NOT NULL,
    resolved_at    TEXT
);
CREATE INDEX comment_by_convention ON comment (convention_id);

CREATE TABLE signing_round (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    convention_id BIGINT NOT NULL REFERENCES convention (id),
    version_hash  TEXT NOT NULL REFERENCES version (hash),
    required      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('ouverte', 'terminee', 'annulee')),
    opened_by     BIGINT NOT NULL REFERENCES app_user (id),
    opened_at     TEXT NOT NULL,
    deadline      TEXT,
    closed_at     TEXT,
    close_reason  TEXT
);
CREATE INDEX round_by_convention ON signing_round (convention_id);

CREATE TABLE signature (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id      BIGINT NOT NULL REFERENCES signing_round (id),
    convention_id BIGINT NOT NULL REFERENCES convention (id),
    version_hash  TEXT NOT NULL REFERENCES version (hash),
    party         TEXT NOT NULL,
    signer_id     BIGINT NOT NULL REFERENCES app_user (id),
    record        TEXT NOT NULL,
    seal          TEXT NOT NULL,
    UNIQUE (round_id, party)
);
CREATE INDEX signature_by_convention ON signature (convention_id);

CREATE TABLE audit_event (
    convention_id BIGINT NOT NULL REFERENCES convention (id),
    seq           BIGINT NOT NULL,
    at            TEXT NOT NULL,
    actor         TEXT,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL,
    PRIMARY KEY (convention_id, seq)
);

CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at      TEXT NOT NULL,
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    attachments     TEXT NOT NULL DEFAULT '[]',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    sent_at         TEXT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);

-- Immutability, enforced by the database itself (DESIGN §3): a version never changes except
-- to become locked; a locked version and its signatures can be neither changed nor deleted;
-- signatures are never rewritten; the audit chain is append-only.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER version_immutable BEFORE UPDATE ON version FOR EACH ROW
WHEN (OLD.locked
  OR NEW.document IS DISTINCT FROM OLD.document OR NEW.hash IS DISTINCT FROM OLD.hash
  OR NEW.number IS DISTINCT FROM OLD.number OR NEW.parent_hash IS DISTINCT FROM OLD.parent_hash
  OR NEW.convention_id IS DISTINCT FROM OLD.convention_id OR NEW.author_id IS DISTINCT FROM OLD.author_id
  OR NEW.reason IS DISTINCT FROM OLD.reason OR NEW.created_at IS DISTINCT FROM OLD.created_at)
EXECUTE FUNCTION refuse_change('version verrouillée ou immuable : modification refusée');

CREATE TRIGGER version_no_delete BEFORE DELETE ON version FOR EACH ROW
EXECUTE FUNCTION refuse_change('une version ne peut pas être supprimée');

CREATE TRIGGER signature_no_update BEFORE UPDATE ON signature FOR EACH ROW
EXECUTE FUNCTION refuse_change('une signature ne peut pas être modifiée');

CREATE FUNCTION refuse_locked_signature_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT locked FROM version WHERE hash = OLD.version_hash) THEN
    RAISE EXCEPTION 'signature d''une version verrouillée : suppression refusée'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN OLD;
END;
$$;

CREATE TRIGGER signature_locked_delete BEFORE DELETE ON signature FOR EACH ROW
EXECUTE FUNCTION refuse_locked_signature_delete();

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_event FOR EACH ROW
EXECUTE FUNCTION refuse_change('le journal d''audit est en ajout seul');

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_event FOR EACH ROW
EXECUTE FUNCTION refuse_change('le journal d''audit est en ajout seul');
