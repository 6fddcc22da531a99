-- Visits submitted from the phone. The phone's visit id is the idempotency key: the stored
-- request hash and response make a re-sent visit get the same answer.

-- The three other quarter-turns of each photo's dHash, so a look-alike search can match a
-- photo taken with the phone held another way.
ALTER TABLE photos ADD COLUMN dhash_r90 BIGINT;
ALTER TABLE photos ADD COLUMN dhash_r180 BIGINT;
ALTER TABLE photos ADD COLUMN dhash_r270 BIGINT;

CREATE TABLE visits (
    id                TEXT PRIMARY KEY NOT NULL,
    household_id      TEXT NOT NULL REFERENCES households (id),
    submitted_by      TEXT NOT NULL REFERENCES users (id),
    request_hash      TEXT NOT NULL,
    request           TEXT NOT NULL,
    response          TEXT NOT NULL,
    started_at        TIMESTAMP NOT NULL,
    ended_at          TIMESTAMP NOT NULL,
    flags             TEXT NOT NULL,
    max_severity      INTEGER NOT NULL,
    scheme_version_id TEXT NOT NULL REFERENCES scheme_versions (id),
    assessment_id     TEXT NOT NULL REFERENCES assessments (id),
    supersedes_id     TEXT REFERENCES visits (id),
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX visits_household ON visits (household_id, created_at);

CREATE TABLE visit_photos (
    visit_id     TEXT NOT NULL REFERENCES visits (id),
    digest       TEXT NOT NULL REFERENCES photos (digest),
    kind         TEXT NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    PRIMARY KEY (visit_id, digest)
);
CREATE INDEX visit_photos_digest ON visit_photos (digest);
