-- Photos are fetched when they arrive, before the record they belong to
-- exists: an image sent at a photo step is a staged photo, owned by the
-- member who sent it (member_id) and by no record yet (owner_kind,
-- owner_id and seq NULL) until saving the record attaches it. Every photo
-- now says who sent it; existing ones take the member of their record.
-- Staged photos of drafts that were never saved are deleted after a few
-- days (photos_staged_idx finds them).

-- +goose Up
ALTER TABLE photos
    ALTER COLUMN owner_kind DROP NOT NULL,
    ALTER COLUMN owner_id DROP NOT NULL,
    ALTER COLUMN seq DROP NOT NULL,
    ADD COLUMN member_id BIGINT REFERENCES members (id);
UPDATE photos p SET member_id = COALESCE(
    (SELECT r.member_id FROM reports r WHERE p.owner_kind = 'report' AND r.id = p.owner_id),
    (SELECT a.member_id FROM activities a WHERE p.owner_kind = 'activity' AND a.id = p.owner_id),
    (SELECT s.member_id FROM service_records s WHERE p.owner_kind = 'service' AND s.id = p.owner_id));
ALTER TABLE photos ADD CONSTRAINT photos_owner_check CHECK (
    (owner_kind IS NULL) = (owner_id IS NULL)
    AND (owner_id IS NULL) = (seq IS NULL)
    AND (owner_id IS NOT NULL OR member_id IS NOT NULL));
CREATE INDEX photos_staged_idx ON photos (created_at) WHERE owner_id IS NULL;

-- +goose Down
DELETE FROM photos WHERE owner_id IS NULL;
DROP INDEX photos_staged_idx;
ALTER TABLE photos DROP CONSTRAINT photos_owner_check;
ALTER TABLE photos
    DROP COLUMN member_id,
    ALTER COLUMN owner_kind SET NOT NULL,
    ALTER COLUMN owner_id SET NOT NULL,
    ALTER COLUMN seq SET NOT NULL;
