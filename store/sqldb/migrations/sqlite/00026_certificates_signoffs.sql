-- Certificates of the personal record (SPEC §12) and the monthly
-- sign-off (SPEC §13).
-- A certificate is kept as issued: its number ZM-YYYY-NNNNNN (year and
-- sequence, the sequence counted per year in certificate_counters, one
-- row per year bumped in the issuing transaction), the member's name,
-- unit and masked mobile, the confirmed totals and the table of records
-- (JSON) at the time of issue. certificate_links are the links sent in
-- chat: the SHA-256 of a random token, valid until expires_at.
-- A sign-off is one unit's month, signed by a leader (replaced when signed
-- again), with the figures as the assessment counted them (JSON) and
-- whether it came after the 28th. Same conventions as 00001: STRICT
-- tables, timestamps as RFC 3339 TEXT.

-- +goose Up
CREATE TABLE certificate_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT;

CREATE TABLE certificates (
    id         INTEGER PRIMARY KEY,
    number     TEXT NOT NULL UNIQUE,
    year       INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    member_id  INTEGER NOT NULL REFERENCES members (id),
    name       TEXT NOT NULL,
    unit       TEXT NOT NULL,
    phone      TEXT NOT NULL,
    minutes    INTEGER NOT NULL,
    sessions   INTEGER NOT NULL,
    first_date TEXT NOT NULL DEFAULT '',
    last_date  TEXT NOT NULL DEFAULT '',
    records    TEXT NOT NULL,
    issuer     TEXT NOT NULL,
    issued_by  TEXT NOT NULL,
    issued_at  TEXT NOT NULL,
    UNIQUE (year, seq)
) STRICT;
CREATE INDEX certificates_member_id_idx ON certificates (member_id);

CREATE TABLE certificate_links (
    token_hash     TEXT PRIMARY KEY,
    certificate_id INTEGER NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    expires_at     TEXT NOT NULL
) STRICT;
CREATE INDEX certificate_links_certificate_id_idx ON certificate_links (certificate_id);

CREATE TABLE signoffs (
    unit_id   INTEGER NOT NULL REFERENCES units (id),
    month     TEXT NOT NULL,
    member_id INTEGER NOT NULL REFERENCES members (id),
    leader    TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    late      INTEGER NOT NULL,
    figures   TEXT NOT NULL,
    PRIMARY KEY (unit_id, month)
) STRICT;

-- +goose Down
DROP TABLE signoffs;
DROP TABLE certificate_links;
DROP TABLE certificates;
DROP TABLE certificate_counters;
