CREATE TABLE evidence_thresholds (
    county_code TEXT PRIMARY KEY NOT NULL REFERENCES jurisdictions (code),
    thresholds  TEXT NOT NULL,
    set_by      TEXT NOT NULL REFERENCES users (id),
    set_at      TIMESTAMP NOT NULL
);
INSERT INTO evidence_thresholds (county_code, thresholds, set_by, set_at)
    SELECT county_code, value, set_by, set_at FROM county_settings WHERE name = 'evidence_thresholds';
DROP TABLE county_settings;
