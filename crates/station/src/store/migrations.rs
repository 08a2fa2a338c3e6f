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
    // 4: registration and orders (issue 4), matching studies to orders, and corrections.
    // Registered patients get their own table instead of extending `patients`: `patients` is
    // the index of what devices wrote (one row per Patient ID + name as received, typos
    // included) and must stay as received; `reg_patients` is the clinic's own record (ID card,
    // phone, a clinic patient ID unique in the clinic) that corrections are made from. A study
    // points at its order (`order_ref`), the order at its registered patient.
    r#"
    CREATE TABLE reg_patients (
        id          INTEGER PRIMARY KEY,
        clinic_id   TEXT NOT NULL UNIQUE,      -- the clinic patient ID, sent as (0010,0020)
        name        TEXT NOT NULL,             -- as typed, PN form allowed ("王^小明")
        pinyin      TEXT NOT NULL DEFAULT '',  -- optional, as typed
        initials    TEXT NOT NULL DEFAULT '',  -- pinyin initials of the name, for search ("wxm")
        sex         TEXT NOT NULL DEFAULT '' CHECK (sex IN ('', 'M', 'F', 'O')),
        birth_date  TEXT NOT NULL DEFAULT '',  -- YYYYMMDD
        id_card     TEXT UNIQUE,               -- 18-character national ID, NULL when not given
        phone       TEXT NOT NULL DEFAULT '',
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE INDEX reg_patients_name ON reg_patients(name);
    CREATE INDEX reg_patients_initials ON reg_patients(initials);
    CREATE INDEX reg_patients_phone ON reg_patients(phone);

    -- One order = one requested procedure with one Scheduled Procedure Step (PS3.4 Annex K).
    CREATE TABLE orders (
        id              INTEGER PRIMARY KEY,
        patient_ref     INTEGER NOT NULL REFERENCES reg_patients(id),
        accession       TEXT NOT NULL UNIQUE,
        study_uid       TEXT NOT NULL UNIQUE,  -- offered in the worklist for the device to use
        sps_id          TEXT NOT NULL,
        modality        TEXT NOT NULL,
        procedure       TEXT NOT NULL DEFAULT '',
        body_part       TEXT NOT NULL DEFAULT '',
        priority        TEXT NOT NULL DEFAULT 'routine' CHECK (priority IN ('routine', 'urgent')),
        referring       TEXT NOT NULL DEFAULT '',
        note            TEXT NOT NULL DEFAULT '',
        station_ae      TEXT NOT NULL DEFAULT '',  -- scheduled station AE title; '' = any
        scheduled_date  TEXT NOT NULL,             -- YYYYMMDD
        scheduled_time  TEXT NOT NULL DEFAULT '',  -- HHMMSS
        state           TEXT NOT NULL DEFAULT 'scheduled' CHECK (state IN
                          ('scheduled', 'in_progress', 'completed', 'cancelled')),
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
    );
    CREATE INDEX orders_date ON orders(scheduled_date, state);
    CREATE INDEX orders_patient ON orders(patient_ref);

    ALTER TABLE studies ADD COLUMN order_ref INTEGER REFERENCES orders(id);
    CREATE INDEX studies_order ON studies(order_ref);

    -- Attribute values to send instead of the received ones, in order; each row is one
    -- Original Attributes Sequence item (PS3.3 C.12.1.1.9) in what is sent.
    CREATE TABLE study_corrections (
        id         INTEGER PRIMARY KEY,
        study_ref  INTEGER NOT NULL REFERENCES studies(id),
        at         INTEGER NOT NULL,
        actor      TEXT NOT NULL,
        reason     TEXT NOT NULL CHECK (reason IN ('COERCE', 'CORRECT')),
        attributes TEXT NOT NULL                -- JSON: {"PatientName": "王^小明", ...}
    );
    CREATE INDEX study_corrections_study ON study_corrections(study_ref, id);

    -- The corrected copy to send instead of the received file (which stays untouched), and
    -- the correction it was made for.
    ALTER TABLE instances ADD COLUMN send_path TEXT;
    ALTER TABLE instances ADD COLUMN send_size INTEGER;
    ALTER TABLE instances ADD COLUMN send_correction INTEGER;
    "#,
    // 5: reports coming back from the hubs (issue 5). Report instances are stored like any
    // other (source_kind 'report', so they are never queued to be sent back); the CHECK list of
    // source kinds is widened in place (a looser constraint, same on-disk format: SQLite's
    // documented writable_schema procedure). RESET reloads this connection's schema; the DDL
    // after it bumps the schema cookie so other connections re-read theirs.
    r#"
    PRAGMA writable_schema = ON;
    UPDATE sqlite_schema SET sql = replace(sql, '''recovery''', '''recovery'',''report''')
     WHERE type = 'table' AND name = 'instances';
    PRAGMA writable_schema = RESET;

    -- One row per report document fetched from a hub: an SR, an Encapsulated PDF or a Key
    -- Object Selection. Versions of a study's SR (or PDF) are rows; the newest is current.
    CREATE TABLE reports (
        id               INTEGER PRIMARY KEY,
        study_ref        INTEGER NOT NULL REFERENCES studies(id),
        instance_ref     INTEGER NOT NULL UNIQUE REFERENCES instances(id),
        destination      TEXT NOT NULL,             -- the hub it came from
        kind             TEXT NOT NULL CHECK (kind IN ('sr','pdf','ko')),
        title            TEXT NOT NULL DEFAULT '',  -- document title (concept name)
        text             TEXT NOT NULL DEFAULT '',  -- the SR content tree as readable text
        observer         TEXT NOT NULL DEFAULT '',  -- verifying observer: the reading doctor
        organization     TEXT NOT NULL DEFAULT '',
        verified_at      TEXT NOT NULL DEFAULT '',  -- Verification DateTime as given (DT)
        content_at       TEXT NOT NULL DEFAULT '',  -- Content Date + Time (DA TM), orders versions
        completion       TEXT NOT NULL DEFAULT '',  -- (0040,A491) PARTIAL / COMPLETE
        verification     TEXT NOT NULL DEFAULT '',  -- (0040,A493) UNVERIFIED / VERIFIED
        preliminary      TEXT NOT NULL DEFAULT '',  -- (0040,A496) PRELIMINARY / FINAL
        is_final         INTEGER NOT NULL DEFAULT 0,
        is_current       INTEGER NOT NULL DEFAULT 0,
        received_at      INTEGER NOT NULL
    );
    CREATE INDEX reports_study ON reports(study_ref, kind, is_current);
    CREATE INDEX reports_received ON reports(received_at);

    -- Images a Key Object Selection points at; resolved to local instances when read.
    CREATE TABLE report_key_images (
        report_ref       INTEGER NOT NULL REFERENCES reports(id),
        sop_instance_uid TEXT NOT NULL,
        PRIMARY KEY (report_ref, sop_instance_uid)
    );

    -- Who read which report version, and when; unread = current reports without a row.
    CREATE TABLE report_acks (
        report_ref  INTEGER NOT NULL REFERENCES reports(id),
        user        TEXT NOT NULL,
        at          INTEGER NOT NULL,
        PRIMARY KEY (report_ref, user)
    );

    -- Per delivered study: turnaround against its target, and overdue flagging.
    CREATE TABLE report_turnaround (
        study_ref        INTEGER PRIMARY KEY REFERENCES studies(id),
        sent_at          INTEGER NOT NULL,          -- delivered to the hub
        due_at           INTEGER NOT NULL,          -- sent_at + the target for modality/priority
        first_report_at  INTEGER,
        final_report_at  INTEGER,
        overdue_at       INTEGER                    -- when it was flagged overdue (once)
    );
    CREATE INDEX report_turnaround_due ON report_turnaround(final_report_at, due_at);

    -- Per study and hub: when to look for reports next.
    CREATE TABLE report_polls (
        queue_ref     INTEGER PRIMARY KEY REFERENCES send_queue(id),
        next_poll_at  INTEGER NOT NULL DEFAULT 0,
        last_poll_at  INTEGER
    );
    CREATE INDEX report_polls_due ON report_polls(next_poll_at);
    "#,
    // 6: people who log in (technician, doctor, manager, admin) and their sessions. Only the
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
    // 7: device exports converted into DICOM (issue 7): the export file's SHA-256, so the same
    // file taken twice (not moved to done/ after a crash, or exported again) is not converted
    // into a second object with new UIDs.
    r#"
    CREATE TABLE conversions (
        source_sha256 TEXT PRIMARY KEY,
        instance_ref  INTEGER NOT NULL REFERENCES instances(id),
        source        TEXT NOT NULL,   -- the export file's path when it was taken
        kind          TEXT NOT NULL,   -- pdf, jpeg, png, bmp, aecg
        created_at    INTEGER NOT NULL
    );
    "#,
    // 8: whether a study still arriving is sent as its instances come (issue 3): NULL not
    // decided yet, 1 sent while arriving (matching changes nothing), 0 waits for completion.
    r#"
    ALTER TABLE studies ADD COLUMN send_early INTEGER;
    "#,
    // 9: coalesced reads in the audit trail (issue 6): a live view refetching the same query
    // is one entry counting its repeats, not one row per refetch; and each read names the
    // patients whose data it showed, so "who saw this patient, and when" is one query.
    r#"
    ALTER TABLE audit_log ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE audit_log ADD COLUMN last_at INTEGER;   -- the last repeat; NULL when done once
    CREATE INDEX audit_log_read ON audit_log(actor, action, subject, at);
    CREATE TABLE audit_patients (
        entry_ref  INTEGER NOT NULL REFERENCES audit_log(id),
        patient_id TEXT NOT NULL,
        at         INTEGER NOT NULL,   -- when the entry first showed this patient
        PRIMARY KEY (entry_ref, patient_id)
    ) WITHOUT ROWID;
    CREATE INDEX audit_patients_patient ON audit_patients(patient_id, at);
    "#,
    // 10: who owns a send (issue 3): each claim of a queue row takes the next number, and a
    // correction requeuing the study marks the claim in flight superseded; a sync worker's
    // writes count only while the row carries its claim's number, not superseded.
    r#"
    ALTER TABLE send_queue ADD COLUMN claim INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE send_queue ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0;
    "#,
    // 11: whether the worker that last claimed a queue row may still have a request of it in
    // flight (issue 3): set by the claim, cleared only when that worker ends it, so a row held
    // and released (or assigned) during a send is not claimed again until the send is answered.
    r#"
    ALTER TABLE send_queue ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;
    "#,
    // 12: why a file was quarantined, as a word the screens turn into a sentence in the
    // user's language (`states::QuarantineReason`); `reason` keeps the raw detail. NULL for
    // files quarantined before, shown with a general sentence. No CHECK: a newer station's
    // word must not make an older one fail to read the row.
    r#"
    ALTER TABLE quarantine ADD COLUMN reason_code TEXT;
    "#,
    // 13: the center's maintenance staff (issue 14): a `maintenance` role, which the users
    // table's CHECK must allow (SQLite changes a CHECK only by rebuilding the table; ids are
    // kept, open sessions end: everyone logs in once more after this upgrade); and long-lived
    // API tokens for scripts and a clinic HIS, kept as the SHA-256 of the token like sessions.
    // No CHECK on a token's role: a newer station's role must not make an older one fail.
    r#"
    DELETE FROM sessions;
    CREATE TABLE users_new (
        id            INTEGER PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name  TEXT NOT NULL DEFAULT '',
        role          TEXT NOT NULL
                      CHECK (role IN ('technician','doctor','manager','admin','maintenance')),
        password_hash TEXT NOT NULL,           -- argon2id PHC string
        active        INTEGER NOT NULL DEFAULT 1,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        last_login_at INTEGER
    );
    INSERT INTO users_new SELECT id, username, display_name, role, password_hash, active,
                                 created_at, updated_at, last_login_at FROM users;
    DROP TABLE users;
    ALTER TABLE users_new RENAME TO users;

    CREATE TABLE api_tokens (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role          TEXT NOT NULL,
        token_sha256  TEXT NOT NULL UNIQUE,
        created_by    TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER,                 -- NULL: until revoked
        revoked_at    INTEGER,
        last_used_at  INTEGER
    );
    "#,
    // 14: retention (issue 13). An instance whose file was deleted after every destination
    // verified it keeps its row, size and SHA-256 (`purged_at` set; NULL: the file is on disk).
    // A study a person keeps is never purged; `fetched_at` restarts the retention clock of a
    // study whose files came back from the hub.
    r#"
    ALTER TABLE instances ADD COLUMN purged_at INTEGER;
    CREATE INDEX instances_purged ON instances(purged_at) WHERE purged_at IS NOT NULL;
    ALTER TABLE studies ADD COLUMN keep INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE studies ADD COLUMN fetched_at INTEGER;
    "#,
    // 15: the fingerprint of a purged image's native pixel data (`dicom::pixels`): a file
    // fetched back in another native transfer syntax is the same image when its SOP Instance
    // UID and this match (its own size and SHA-256 then replace the row's).
    r#"
    ALTER TABLE instances ADD COLUMN pixel_sha256 TEXT;
    "#,
    // 16: storage upkeep (issue 13): one row per backup and integrity check run, for the
    // dashboard's card and the service's schedule. No CHECK on `kind`: a newer station's kind
    // must not make an older one fail.
    r#"
    CREATE TABLE storage_runs (
        id          INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL,             -- 'backup', 'verify'
        started_at  INTEGER NOT NULL,
        finished_at INTEGER NOT NULL,
        ok          INTEGER NOT NULL,          -- 1: done and nothing found wrong
        problems    INTEGER NOT NULL,          -- what a person must look at (0 for a good run)
        detail      TEXT NOT NULL              -- where the backup went, or what was found (English)
    );
    CREATE INDEX storage_runs_kind ON storage_runs(kind, finished_at);
    "#,
    // 17: lossless compression on the wire (issue 15): a destination whose hub refused a
    // compressed instance (HTTP 415/406, or a Failure Reason saying so) is remembered, per
    // transfer syntax, so later studies go as received without a failed round trip.
    r#"
    CREATE TABLE wire_refusals (
        destination     TEXT NOT NULL,
        transfer_syntax TEXT NOT NULL,      -- the setting's word, e.g. 'jpeg-ls-lossless'
        refused_at      INTEGER NOT NULL,   -- Unix milliseconds
        reason          TEXT NOT NULL,      -- what the hub said (English)
        PRIMARY KEY (destination, transfer_syntax)
    );
    "#,
    // 18: bytes on the wire (issue 15), per instance and destination, written when the hub
    // reports the instance stored: the size of the file it would have gone as (the stored
    // file, or its corrected copy) and of the file actually sent (its compressed copy where one
    // was made). NULL for instances stored before: the screens leave them out rather than
    // guess. The index serves the dashboard's "saved this month".
    r#"
    ALTER TABLE send_instances ADD COLUMN original_bytes INTEGER;
    ALTER TABLE send_instances ADD COLUMN sent_bytes INTEGER;
    CREATE INDEX send_instances_sent ON send_instances(updated_at) WHERE sent_bytes IS NOT NULL;
    "#,
];
