-- Accounts of the office's admin API: office admins see everything, unit
-- admins only their unit. Passwords are bcrypt hashes. A session is kept
-- as the SHA-256 of its random token, so a leaked table grants nothing.

-- +goose Up
CREATE TABLE admins (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('office', 'unit')),
    unit_id       BIGINT REFERENCES units (id),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((role = 'unit') = (unit_id IS NOT NULL))
);

CREATE TABLE admin_sessions (
    token_hash TEXT PRIMARY KEY,
    admin_id   BIGINT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX admin_sessions_admin_id_idx ON admin_sessions (admin_id);

-- +goose Down
DROP TABLE admin_sessions;
DROP TABLE admins;
