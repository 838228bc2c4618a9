-- A run of a send_batch job claims its batch as a whole, instead of each
-- delivery before it is sent: the deliveries stay pending while they are
-- sent, and each is written once, with its outcome. held_until is when a
-- claim runs out (a process that died); NULL once released. token names
-- the claim: an outcome other than sent is recorded only while its
-- claim's token is still the batch's.

-- +goose Up
CREATE TABLE notice_batch_claims (
    notice_id  INTEGER NOT NULL,
    first_id   INTEGER NOT NULL,
    token      INTEGER NOT NULL UNIQUE,
    held_until TEXT NULL,
    PRIMARY KEY (notice_id, first_id)
) STRICT;

-- +goose Down
DROP TABLE notice_batch_claims;
