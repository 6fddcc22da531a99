-- Every county setting in one table, one row per county and setting (JSON of a
-- jurisdictions::settings::CountySetting); a county without a row uses the defaults. The
-- evidence thresholds move here beside the re-check intervals.
CREATE TABLE county_settings (
    county_code TEXT NOT NULL REFERENCES jurisdictions (code),
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    set_by      TEXT NOT NULL REFERENCES users (id),
    set_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (county_code, name)
);
INSERT INTO county_settings (county_code, name, value, set_by, set_at)
    SELECT county_code, 'evidence_thresholds', thresholds, set_by, set_at FROM evidence_thresholds;
DROP TABLE evidence_thresholds;
