-- Foundation: jurisdictions, users and sessions, households and members, audit chain.
-- Kept column-for-column identical to the PostgreSQL migration of the same name.

CREATE TABLE jurisdictions (
    code        TEXT PRIMARY KEY NOT NULL,
    parent_code TEXT REFERENCES jurisdictions (code),
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    -- "/<county code>/<township code>/…/<own code>/": a subtree is a path prefix.
    path        TEXT NOT NULL UNIQUE,
    boundary    TEXT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX jurisdictions_parent ON jurisdictions (parent_code);
-- Prefix (LIKE '/…/%') scans need a pattern-ops index under a non-C collation.
CREATE INDEX jurisdictions_path_prefix ON jurisdictions (path text_pattern_ops);

CREATE TABLE users (
    id                TEXT PRIMARY KEY NOT NULL,
    username          TEXT NOT NULL UNIQUE,
    display_name      TEXT NOT NULL,
    role              TEXT NOT NULL,
    jurisdiction_code TEXT NOT NULL REFERENCES jurisdictions (code),
    password_hash     TEXT NOT NULL,
    disabled          BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at        TIMESTAMP,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX users_jurisdiction ON users (jurisdiction_code);

-- One session per login; its refresh tokens form a rotation family.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id),
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP,
    revoke_reason TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    issued_at  TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE login_failures (
    id      BIGSERIAL PRIMARY KEY,
    subject TEXT NOT NULL,
    at      TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_subject_at ON login_failures (subject, at);

CREATE TABLE households (
    id                    TEXT PRIMARY KEY NOT NULL,
    village_code          TEXT NOT NULL REFERENCES jurisdictions (code),
    reference             TEXT,
    head_name             TEXT NOT NULL,
    address               TEXT NOT NULL,
    urban                 BOOLEAN NOT NULL,
    lat                   DOUBLE PRECISION,
    lon                   DOUBLE PRECISION,
    phone                 TEXT,
    responsible_worker_id TEXT REFERENCES users (id),
    active                BOOLEAN NOT NULL,
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX households_village_reference ON households (village_code, reference);
CREATE INDEX households_worker ON households (responsible_worker_id);

CREATE TABLE members (
    id              TEXT PRIMARY KEY NOT NULL,
    household_id    TEXT NOT NULL REFERENCES households (id),
    name            TEXT NOT NULL,
    id_number       TEXT NOT NULL,
    relation        TEXT NOT NULL,
    birth_date      DATE NOT NULL,
    male            BOOLEAN NOT NULL,
    labour_capacity TEXT NOT NULL,
    disability_grade INTEGER,
    chronic_illness BOOLEAN NOT NULL,
    student         TEXT NOT NULL,
    active          BOOLEAN NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX members_household ON members (household_id);
-- One person, one active household (no duplicate assistance).
CREATE UNIQUE INDEX members_active_id_number ON members (id_number) WHERE active;

CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY NOT NULL,
    at          TIMESTAMP NOT NULL,
    actor_id    TEXT,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    request_id  TEXT,
    summary     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id);

-- The chain's head: every append locks this row, so appends are serialized.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY NOT NULL,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
