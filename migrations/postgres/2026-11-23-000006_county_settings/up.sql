-- A county's evidence-check thresholds (JSON of visits::checks::Thresholds); a county without
-- a row uses the DOMAIN.md defaults.
CREATE TABLE evidence_thresholds (
    county_code TEXT PRIMARY KEY NOT NULL REFERENCES jurisdictions (code),
    thresholds  TEXT NOT NULL,
    set_by      TEXT NOT NULL REFERENCES users (id),
    set_at      TIMESTAMP NOT NULL
);
