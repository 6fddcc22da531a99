-- Photos (content-addressed by SHA-256; the blob itself lives in object storage) and
-- resumable uploads in progress.

CREATE TABLE photos (
    seq         BIGSERIAL PRIMARY KEY,
    digest      TEXT NOT NULL UNIQUE,
    size_bytes  BIGINT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    gps_lat     DOUBLE PRECISION,
    gps_lon     DOUBLE PRECISION,
    gps_alt     DOUBLE PRECISION,
    gps_problem TEXT,
    taken_at    TIMESTAMP,
    taken_local TIMESTAMP,
    orientation INTEGER NOT NULL,
    make        TEXT,
    model       TEXT,
    dhash       BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES users (id),
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE uploads (
    id           TEXT PRIMARY KEY NOT NULL,
    digest       TEXT NOT NULL,
    length       BIGINT NOT NULL,
    received     BIGINT NOT NULL,
    created_by   TEXT NOT NULL REFERENCES users (id),
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    completed_at TIMESTAMP
);
CREATE INDEX uploads_created_by ON uploads (created_by);
CREATE INDEX uploads_updated_at ON uploads (updated_at);
