-- Signatures drawn on the phone (PNG), uploaded like photos: an upload says which it is.
ALTER TABLE uploads ADD COLUMN kind TEXT NOT NULL DEFAULT 'photo';

CREATE TABLE signatures (
    digest      TEXT PRIMARY KEY NOT NULL,
    size_bytes  BIGINT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES users (id),
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE visit_signatures (
    visit_id TEXT NOT NULL REFERENCES visits (id),
    digest   TEXT NOT NULL REFERENCES signatures (digest),
    signer   TEXT NOT NULL,
    name     TEXT,
    PRIMARY KEY (visit_id, digest)
);
