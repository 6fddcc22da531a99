-- Cases: one per household per cycle, moved through the lifecycle in src/cases/lifecycle.rs.
-- The queue columns (severity, borderline, band, flags) copy the latest visit's and
-- assessment's so the township queue is one indexed read.

CREATE TABLE notices (
    id            TEXT PRIMARY KEY NOT NULL,
    township_code TEXT NOT NULL REFERENCES jurisdictions (code),
    starts_on     DATE NOT NULL,
    ends_on       DATE NOT NULL,
    published_by  TEXT NOT NULL REFERENCES users (id),
    published_at  TIMESTAMP NOT NULL
);
CREATE INDEX notices_township ON notices (township_code, published_at);

CREATE TABLE cases (
    id                 TEXT PRIMARY KEY NOT NULL,
    household_id       TEXT NOT NULL REFERENCES households (id),
    kind               TEXT NOT NULL,
    state              TEXT NOT NULL,
    -- The review queue the case waits in ('township', 'county'), derived from the state, so
    -- a queue page is one ordered index range.
    queue              TEXT,
    county_code        TEXT NOT NULL REFERENCES jurisdictions (code),
    township_code      TEXT NOT NULL REFERENCES jurisdictions (code),
    village_code       TEXT NOT NULL REFERENCES jurisdictions (code),
    coordinator_id     TEXT REFERENCES users (id),
    visit_id           TEXT,
    assessment_id      TEXT REFERENCES assessments (id),
    max_severity       INTEGER NOT NULL,
    flag_kinds         TEXT NOT NULL,
    band               TEXT,
    -- Queue order inside the overdue/on-time split, lowest first:
    -- -(flag severity * 2 + 1 if borderline). All-ascending, so a page is one index range.
    queue_priority     INTEGER NOT NULL,
    county_visit       BOOLEAN NOT NULL,
    entered_at         TIMESTAMP NOT NULL,
    due_at             TIMESTAMP,
    claimed_by         TEXT REFERENCES users (id),
    claim_expires_at   TIMESTAMP,
    redo               TEXT,
    notice_id          TEXT REFERENCES notices (id),
    review_class       TEXT,
    monthly_amount_fen BIGINT,
    next_recheck_on    DATE,
    opened_at          TIMESTAMP NOT NULL,
    -- Who took the application; NULL when the service opened the case (a scheduled re-check).
    opened_by          TEXT REFERENCES users (id),
    closed_at          TIMESTAMP,
    version            INTEGER NOT NULL
);
-- One open case per household.
CREATE UNIQUE INDEX cases_one_open ON cases (household_id) WHERE closed_at IS NULL;
CREATE INDEX cases_household ON cases (household_id, opened_at);
CREATE INDEX cases_queue ON cases (township_code, queue, queue_priority, entered_at, id);
CREATE INDEX cases_state_recheck ON cases (state, next_recheck_on);
CREATE INDEX cases_village_state ON cases (village_code, state);
CREATE INDEX cases_notice ON cases (notice_id);

CREATE TABLE case_events (
    id          TEXT PRIMARY KEY NOT NULL,
    case_id     TEXT NOT NULL REFERENCES cases (id),
    at          TIMESTAMP NOT NULL,
    action      TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    actor_id    TEXT REFERENCES users (id),
    actor_name  TEXT NOT NULL,
    details     TEXT NOT NULL
);
CREATE INDEX case_events_case ON case_events (case_id, at);

CREATE TABLE objections (
    id               TEXT PRIMARY KEY NOT NULL,
    case_id          TEXT NOT NULL REFERENCES cases (id),
    objector_name    TEXT NOT NULL,
    objector_contact TEXT,
    content          TEXT NOT NULL,
    status           TEXT NOT NULL,
    resolution       TEXT,
    filed_by         TEXT NOT NULL REFERENCES users (id),
    filed_at         TIMESTAMP NOT NULL,
    resolved_by      TEXT REFERENCES users (id),
    resolved_at      TIMESTAMP
);
CREATE INDEX objections_case ON objections (case_id, status);

CREATE TABLE appraisals (
    id          TEXT PRIMARY KEY NOT NULL,
    case_id     TEXT NOT NULL REFERENCES cases (id),
    held_on     DATE NOT NULL,
    panel_size  INTEGER NOT NULL,
    present     INTEGER NOT NULL,
    votes_for   INTEGER NOT NULL,
    passed      BOOLEAN NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX appraisals_case ON appraisals (case_id);

-- A county's choice to let its townships confirm, from a date on; the latest row in force
-- wins.
CREATE TABLE confirmation_delegations (
    county_code    TEXT NOT NULL REFERENCES jurisdictions (code),
    effective_from DATE NOT NULL,
    delegated      BOOLEAN NOT NULL,
    set_by         TEXT NOT NULL REFERENCES users (id),
    set_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (county_code, effective_from)
);

ALTER TABLE visits ADD COLUMN case_id TEXT REFERENCES cases (id);
CREATE INDEX visits_case ON visits (case_id);
