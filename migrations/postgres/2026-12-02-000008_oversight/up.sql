-- A county's stored spot-check draws: seed, rates and the frame they were drawn from, so anyone
-- can re-run src/oversight/sampling.rs on them and get the same sample.
CREATE TABLE spot_check_draws (
    id               TEXT PRIMARY KEY NOT NULL,
    county_code      TEXT NOT NULL REFERENCES jurisdictions (code),
    first_day        DATE NOT NULL,
    last_day         DATE NOT NULL,
    seed             BIGINT NOT NULL,
    rate_percent     INTEGER NOT NULL,
    min_rate_percent INTEGER NOT NULL,
    -- JSON: the approved cases the sample was drawn from, with their mandatory flags.
    frame            TEXT NOT NULL,
    -- JSON: sampled approvals whose household already had an open case (no spot check opened).
    skipped          TEXT NOT NULL,
    drawn_by         TEXT NOT NULL REFERENCES users (id),
    drawn_at         TIMESTAMP NOT NULL
);
CREATE INDEX spot_check_draws_county ON spot_check_draws (county_code, first_day);

-- The spot-check case opened for one sampled approval, and what it concluded.
CREATE TABLE spot_checks (
    case_id            TEXT PRIMARY KEY NOT NULL REFERENCES cases (id),
    draw_id            TEXT NOT NULL REFERENCES spot_check_draws (id),
    checked_case_id    TEXT NOT NULL REFERENCES cases (id),
    sample_reason      TEXT NOT NULL,
    overturn_reason    TEXT,
    correction_case_id TEXT REFERENCES cases (id)
);
CREATE INDEX spot_checks_draw ON spot_checks (draw_id);
-- An approval is checked at most once.
CREATE UNIQUE INDEX spot_checks_checked ON spot_checks (checked_case_id);
