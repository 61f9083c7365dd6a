-- Server-side record of each session token (by its `jti`): signing out, changing or resetting
-- the password deletes rows, and a token without its row is refused by every instance that
-- shares the database. Times are Unix seconds, compared on every authenticated request.
CREATE TABLE app_session (
    jti        TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES app_user (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX app_session_user ON app_session (user_id);
CREATE INDEX app_session_expiry ON app_session (expires_at);

-- Reset links are throttled per account: counting the recent ones needs this index.
CREATE INDEX password_reset_user ON password_reset (user_id, created_at);
