//! Backend-neutral table definitions, matching both `migrations/sqlite` and `migrations/postgres`.

diesel::table! {
    jurisdictions (code) {
        code -> Text,
        parent_code -> Nullable<Text>,
        kind -> Text,
        name -> Text,
        path -> Text,
        boundary -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        role -> Text,
        jurisdiction_code -> Text,
        password_hash -> Text,
        disabled -> Bool,
        deleted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoke_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        issued_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        subject -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    households (id) {
        id -> Text,
        village_code -> Text,
        reference -> Nullable<Text>,
        head_name -> Text,
        address -> Text,
        urban -> Bool,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        phone -> Nullable<Text>,
        responsible_worker_id -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    members (id) {
        id -> Text,
        household_id -> Text,
        name -> Text,
        id_number -> Text,
        relation -> Text,
        birth_date -> Date,
        male -> Bool,
        labour_capacity -> Text,
        disability_grade -> Nullable<Integer>,
        chronic_illness -> Bool,
        student -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_name -> Text,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        request_id -> Nullable<Text>,
        summary -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    scheme_versions (id) {
        id -> Text,
        county_code -> Text,
        version -> Integer,
        name -> Text,
        source -> Text,
        content_hash -> Text,
        active -> Bool,
        published_at -> Timestamp,
        published_by -> Text,
    }
}

diesel::table! {
    assessments (id) {
        id -> Text,
        household_id -> Text,
        scheme_version_id -> Text,
        scheme_hash -> Text,
        inputs -> Text,
        result -> Text,
        outcome -> Text,
        score -> Integer,
        band -> Text,
        review_class -> Text,
        payment_fen -> Nullable<BigInt>,
        county_visit -> Bool,
        supersedes_id -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::table! {
    photos (seq) {
        seq -> BigInt,
        digest -> Text,
        size_bytes -> BigInt,
        width -> Integer,
        height -> Integer,
        gps_lat -> Nullable<Double>,
        gps_lon -> Nullable<Double>,
        gps_alt -> Nullable<Double>,
        gps_problem -> Nullable<Text>,
        taken_at -> Nullable<Timestamp>,
        taken_local -> Nullable<Timestamp>,
        orientation -> Integer,
        make -> Nullable<Text>,
        model -> Nullable<Text>,
        dhash -> BigInt,
        uploaded_by -> Text,
        created_at -> Timestamp,
        dhash_r90 -> Nullable<BigInt>,
        dhash_r180 -> Nullable<BigInt>,
        dhash_r270 -> Nullable<BigInt>,
    }
}

diesel::table! {
    visits (id) {
        id -> Text,
        household_id -> Text,
        submitted_by -> Text,
        request_hash -> Text,
        request -> Text,
        response -> Text,
        started_at -> Timestamp,
        ended_at -> Timestamp,
        flags -> Text,
        max_severity -> Integer,
        scheme_version_id -> Text,
        assessment_id -> Text,
        supersedes_id -> Nullable<Text>,
        created_at -> Timestamp,
        case_id -> Nullable<Text>,
    }
}

diesel::table! {
    visit_photos (visit_id, digest) {
        visit_id -> Text,
        digest -> Text,
        kind -> Text,
        household_id -> Text,
    }
}

diesel::table! {
    uploads (id) {
        id -> Text,
        digest -> Text,
        length -> BigInt,
        received -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
        kind -> Text,
    }
}

diesel::table! {
    signatures (digest) {
        digest -> Text,
        size_bytes -> BigInt,
        width -> Integer,
        height -> Integer,
        uploaded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    visit_signatures (visit_id, digest) {
        visit_id -> Text,
        digest -> Text,
        signer -> Text,
        name -> Nullable<Text>,
    }
}

diesel::table! {
    notices (id) {
        id -> Text,
        township_code -> Text,
        starts_on -> Date,
        ends_on -> Date,
        published_by -> Text,
        published_at -> Timestamp,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        household_id -> Text,
        kind -> Text,
        state -> Text,
        queue -> Nullable<Text>,
        county_code -> Text,
        township_code -> Text,
        village_code -> Text,
        coordinator_id -> Nullable<Text>,
        visit_id -> Nullable<Text>,
        assessment_id -> Nullable<Text>,
        max_severity -> Integer,
        flag_kinds -> Text,
        band -> Nullable<Text>,
        queue_priority -> Integer,
        county_visit -> Bool,
        entered_at -> Timestamp,
        due_at -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        claim_expires_at -> Nullable<Timestamp>,
        redo -> Nullable<Text>,
        notice_id -> Nullable<Text>,
        review_class -> Nullable<Text>,
        monthly_amount_fen -> Nullable<BigInt>,
        next_recheck_on -> Nullable<Date>,
        opened_at -> Timestamp,
        opened_by -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::table! {
    case_events (id) {
        id -> Text,
        case_id -> Text,
        at -> Timestamp,
        action -> Text,
        from_state -> Nullable<Text>,
        to_state -> Text,
        actor_id -> Nullable<Text>,
        actor_name -> Text,
        details -> Text,
    }
}

diesel::table! {
    objections (id) {
        id -> Text,
        case_id -> Text,
        objector_name -> Text,
        objector_contact -> Nullable<Text>,
        content -> Text,
        status -> Text,
        resolution -> Nullable<Text>,
        filed_by -> Text,
        filed_at -> Timestamp,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    appraisals (id) {
        id -> Text,
        case_id -> Text,
        held_on -> Date,
        panel_size -> Integer,
        present -> Integer,
        votes_for -> Integer,
        passed -> Bool,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    confirmation_delegations (county_code, effective_from) {
        county_code -> Text,
        effective_from -> Date,
        delegated -> Bool,
        set_by -> Text,
        set_at -> Timestamp,
    }
}

diesel::table! {
    county_settings (county_code, name) {
        county_code -> Text,
        name -> Text,
        value -> Text,
        set_by -> Text,
        set_at -> Timestamp,
    }
}

diesel::table! {
    spot_check_draws (id) {
        id -> Text,
        county_code -> Text,
        first_day -> Date,
        last_day -> Date,
        seed -> BigInt,
        rate_percent -> Integer,
        min_rate_percent -> Integer,
        frame -> Text,
        skipped -> Text,
        drawn_by -> Text,
        drawn_at -> Timestamp,
    }
}

diesel::table! {
    report_snapshots (county_code, first_day, last_day) {
        county_code -> Text,
        first_day -> Date,
        last_day -> Date,
        computed_at -> Timestamp,
        report -> Text,
    }
}

diesel::table! {
    spot_checks (case_id) {
        case_id -> Text,
        draw_id -> Text,
        checked_case_id -> Text,
        sample_reason -> Text,
        overturn_reason -> Nullable<Text>,
        correction_case_id -> Nullable<Text>,
    }
}

diesel::joinable!(cases -> households (household_id));
diesel::joinable!(spot_checks -> spot_check_draws (draw_id));
diesel::joinable!(cases -> notices (notice_id));
diesel::joinable!(case_events -> cases (case_id));
diesel::joinable!(objections -> cases (case_id));
diesel::joinable!(appraisals -> cases (case_id));
diesel::joinable!(assessments -> households (household_id));
diesel::joinable!(visits -> households (household_id));
diesel::joinable!(visit_photos -> visits (visit_id));
diesel::joinable!(visit_signatures -> visits (visit_id));
diesel::joinable!(assessments -> scheme_versions (scheme_version_id));
diesel::joinable!(scheme_versions -> jurisdictions (county_code));
diesel::joinable!(households -> jurisdictions (village_code));
diesel::joinable!(members -> households (household_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(users -> jurisdictions (jurisdiction_code));

diesel::allow_tables_to_appear_in_same_query!(
    jurisdictions,
    users,
    sessions,
    refresh_tokens,
    login_failures,
    households,
    members,
    audit_log,
    audit_head,
    scheme_versions,
    assessments,
    photos,
    uploads,
    visits,
    visit_photos,
    notices,
    cases,
    case_events,
    objections,
    appraisals,
    confirmation_delegations,
    county_settings,
    signatures,
    visit_signatures,
    spot_check_draws,
    spot_checks,
    report_snapshots,
);
