-- Password resets: single use, expiring, only the digest of the link's token is stored.
CREATE TABLE password_reset (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES app_user (id),
    token_digest TEXT NOT NULL UNIQUE,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    created_at   TEXT NOT NULL
);
