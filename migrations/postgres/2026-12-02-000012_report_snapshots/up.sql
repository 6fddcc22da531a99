-- The county report as last computed for a period, so the console serves it without
-- recomputing every case's history (seconds at a million households) on each page view.
-- A cache: deleting every row loses nothing; the refresher and the next reader rebuild it.
CREATE TABLE report_snapshots (
    county_code TEXT NOT NULL REFERENCES jurisdictions (code),
    first_day   DATE NOT NULL,
    last_day    DATE NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    -- JSON: the report, as GET /counties/{code}/report answers it.
    report      TEXT NOT NULL,
    PRIMARY KEY (county_code, first_day, last_day)
);
