//! The schema, as one ordered list of migrations. A database records how many it has applied
//! (`PRAGMA user_version`); opening it applies the rest in one transaction each.
//!
//! Must never: edit a migration that has shipped. Add a new one at the end instead.

/// Timestamps are Unix milliseconds (INTEGER) so that ranges and ages are plain comparisons.
pub const MIGRATIONS: &[&str] = &[
    // 1: the received-images index and the per-destination send queue.
    r#"
    CREATE TABLE patients (
        id          INTEGER PRIMARY KEY,
        patient_id  TEXT NOT NULL,              -- (0010,0020) as received
        name        TEXT NOT NULL,              -- (0010,0010) decoded to Unicode
        birth_date  TEXT NOT NULL DEFAULT '',
        sex         TEXT NOT NULL DEFAULT '',
        created_at  INTEGER NOT NULL,
        UNIQUE (patient_id, name)
    );
    CREATE INDEX patients_name ON patients(name);

    CREATE TABLE studies (
        id                INTEGER PRIMARY KEY,
        study_uid         TEXT NOT NULL UNIQUE,
        patient_ref       INTEGER NOT NULL REFERENCES patients(id),
        accession         TEXT NOT NULL DEFAULT '',
        study_date        TEXT NOT NULL DEFAULT '',
        study_time        TEXT NOT NULL DEFAULT '',
        description       TEXT NOT NULL DEFAULT '',
        state             TEXT NOT NULL DEFAULT 'receiving' CHECK (state IN
                            ('receiving','complete','unassigned','ready','sending',
                             'delivered','reported','failed','held')),
        priority          INTEGER NOT NULL DEFAULT 0,   -- 1 = urgent
        first_received_at INTEGER NOT NULL,
        last_received_at  INTEGER NOT NULL,
        completed_at      INTEGER,
        state_changed_at  INTEGER NOT NULL
    );
    CREATE INDEX studies_state ON studies(state, last_received_at);
    CREATE INDEX studies_date ON studies(study_date);
    CREATE INDEX studies_patient ON studies(patient_ref);
    CREATE INDEX studies_accession ON studies(accession);
    CREATE INDEX studies_received ON studies(last_received_at);

    CREATE TABLE series (
        id          INTEGER PRIMARY KEY,
        study_ref   INTEGER NOT NULL REFERENCES studies(id),
        series_uid  TEXT NOT NULL UNIQUE,
        modality    TEXT NOT NULL DEFAULT '',
        number      INTEGER,
        description TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX series_study ON series(study_ref);
    CREATE INDEX series_modality ON series(modality);

    CREATE TABLE instances (
        id               INTEGER PRIMARY KEY,
        series_ref       INTEGER NOT NULL REFERENCES series(id),
        sop_instance_uid TEXT NOT NULL,
        sop_class_uid    TEXT NOT NULL,
        transfer_syntax  TEXT NOT NULL,
        instance_number  INTEGER,
        size             INTEGER NOT NULL,
        sha256           TEXT NOT NULL,
        path             TEXT NOT NULL UNIQUE,  -- relative to the data directory
        received_at      INTEGER NOT NULL,
        source_kind      TEXT NOT NULL CHECK (source_kind IN ('dicom','folder','import','recovery')),
        source           TEXT NOT NULL,         -- calling AE title, or the folder / file path
        charset          TEXT NOT NULL DEFAULT '', -- (0008,0005) as declared
        charset_repaired TEXT,                  -- the charset we detected when the declared one was wrong
        review_reason    TEXT,                  -- why a person should look at this instance
        UNIQUE (sop_instance_uid, sha256)
    );
    CREATE INDEX instances_sop ON instances(sop_instance_uid);
    CREATE INDEX instances_series ON instances(series_ref);
    CREATE INDEX instances_received ON instances(received_at);
    CREATE INDEX instances_review ON instances(review_reason) WHERE review_reason IS NOT NULL;

    CREATE TABLE quarantine (
        id          INTEGER PRIMARY KEY,
        source      TEXT NOT NULL,              -- where the file came from
        stored_path TEXT NOT NULL,              -- where it is now
        reason      TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE INDEX quarantine_created ON quarantine(created_at);

    -- One row per study and destination: the sync workers consume these.
    CREATE TABLE send_queue (
        id              INTEGER PRIMARY KEY,
        study_ref       INTEGER NOT NULL REFERENCES studies(id),
        destination     TEXT NOT NULL,
        state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN
                          ('queued','sending','delivered','failed','held')),
        priority        INTEGER NOT NULL DEFAULT 0,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_error      TEXT,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        UNIQUE (study_ref, destination)
    );
    CREATE INDEX send_queue_ready ON send_queue(state, priority DESC, created_at);
    "#,
    // 2: per-instance send state per destination, and each destination's link state.
    r#"
    CREATE TABLE send_instances (
        queue_ref     INTEGER NOT NULL REFERENCES send_queue(id),
        instance_ref  INTEGER NOT NULL REFERENCES instances(id),
        state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','stored','failed')),
        attempts      INTEGER NOT NULL DEFAULT 0,
        last_error    TEXT,
        updated_at    INTEGER NOT NULL,
        PRIMARY KEY (queue_ref, instance_ref)
    );
    CREATE INDEX send_instances_state ON send_instances(queue_ref, state);

    CREATE TABLE links (
        destination     TEXT PRIMARY KEY,
        online          INTEGER NOT NULL DEFAULT 0,
        last_success_at INTEGER,
        last_error      TEXT,
        last_error_at   INTEGER
    );
    "#,
    // 3: the audit trail: who read or changed what, kept for an admin to browse.
    r#"
    CREATE TABLE audit_log (
        id       INTEGER PRIMARY KEY,
        at       INTEGER NOT NULL,
        actor    TEXT NOT NULL,   -- user name, or 'system' / 'cli' for the engine's own acts
        action   TEXT NOT NULL,   -- e.g. 'study.assign', 'patient.read', 'login.failed'
        subject  TEXT NOT NULL DEFAULT '',   -- what it was done to (study UID, patient id, user)
        detail   TEXT NOT NULL DEFAULT ''    -- JSON or a sentence: old and new values, reasons
    );
    CREATE INDEX audit_log_at ON audit_log(at);
    CREATE INDEX audit_log_subject ON audit_log(subject, at);
    CREATE INDEX audit_log_actor ON audit_log(actor, at);
    "#,
    // 4: people who log in (technician, doctor, manager, admin) and their sessions. Only the
    // SHA-256 of a session token is stored, so a copied database opens no session.
    r#"
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name  TEXT NOT NULL DEFAULT '',
        role          TEXT NOT NULL CHECK (role IN ('technician','doctor','manager','admin')),
        password_hash TEXT NOT NULL,           -- argon2id PHC string
        active        INTEGER NOT NULL DEFAULT 1,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        last_login_at INTEGER
    );

    CREATE TABLE sessions (
        token_sha256  TEXT PRIMARY KEY,
        user_ref      INTEGER NOT NULL REFERENCES users(id),
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_ref);
    CREATE INDEX sessions_expires ON sessions(expires_at);
    "#,
];
