-- Thumbnails of stored photos (a few hundred pixels, JPEG), made once when
-- a photo is stored, so lists show photos small without downloading the
-- originals. This table keeps them when the database keeps photo bytes
-- (the default); with GRIDBOT_PHOTO_STORE set they go to that store.

-- +goose Up
CREATE TABLE photo_thumbs (
    photo_id BIGINT PRIMARY KEY REFERENCES photos (id) ON DELETE CASCADE,
    data     BYTEA NOT NULL
);

-- +goose Down
DROP TABLE photo_thumbs;
