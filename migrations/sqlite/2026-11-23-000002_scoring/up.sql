-- Published scoring schemes (immutable once inserted) and assessments (never edited: a
-- re-assessment is a new row that names the one it supersedes).

CREATE TABLE scheme_versions (
    id           TEXT PRIMARY KEY NOT NULL,
    county_code  TEXT NOT NULL REFERENCES jurisdictions (code),
    version      INTEGER NOT NULL,
    name         TEXT NOT NULL,
    source       TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    active       BOOLEAN NOT NULL,
    published_at TIMESTAMP NOT NULL,
    published_by TEXT NOT NULL
);
CREATE UNIQUE INDEX scheme_versions_county_version ON scheme_versions (county_code, version);
-- A county has at most one scheme in force.
CREATE UNIQUE INDEX scheme_versions_one_active ON scheme_versions (county_code) WHERE active;

CREATE TABLE assessments (
    id                TEXT PRIMARY KEY NOT NULL,
    household_id      TEXT NOT NULL REFERENCES households (id),
    scheme_version_id TEXT NOT NULL REFERENCES scheme_versions (id),
    scheme_hash       TEXT NOT NULL,
    inputs            TEXT NOT NULL,
    result            TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    score             INTEGER NOT NULL,
    band              TEXT NOT NULL,
    review_class      TEXT NOT NULL,
    payment_fen       BIGINT,
    county_visit      BOOLEAN NOT NULL,
    supersedes_id     TEXT REFERENCES assessments (id),
    created_at        TIMESTAMP NOT NULL,
    created_by        TEXT NOT NULL
);
CREATE INDEX assessments_household ON assessments (household_id, created_at);
CREATE INDEX assessments_scheme ON assessments (scheme_version_id);
