//! What the OpenAPI document says that utoipa cannot read from the Rust types: each integer's
//! true range (a u32 is not an int32) and the enums whose variants refuse keys of their own.
//! Applied to the document as JSON, once, when it is built.
//!
//! Must never: state a limit the engine does not check (the tests hold each one to it).

/// The range each Rust integer type holds, for the formats utoipa names after it
/// (`non_strict_integers`): OpenAPI knows only int32 and int64, so the type's width becomes
/// a standard format with its true minimum and maximum (a u32 is not an int32). A u64 stops
/// at i64's maximum: the request refuses larger numbers (`api::run_handler`), as SQLite and
/// the TOML config file could not keep them.
pub(super) fn integer_ranges(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let integer = match map.get("type") {
                Some(Value::String(t)) => t == "integer",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer"),
                _ => false,
            };
            // utoipa spells UInt32 `u-int32`; a usize has no format, only `minimum: 0`.
            let range: Option<(&str, i64, i64)> = match map.get("format").and_then(Value::as_str) {
                Some("int8") => Some(("int32", i8::MIN.into(), i8::MAX.into())),
                Some("int16") => Some(("int32", i16::MIN.into(), i16::MAX.into())),
                Some("u-int8" | "uint8") => Some(("int32", 0, u8::MAX.into())),
                Some("u-int16" | "uint16") => Some(("int32", 0, u16::MAX.into())),
                Some("u-int32" | "uint32") => Some(("int64", 0, u32::MAX.into())),
                Some("u-int64" | "uint64") => Some(("int64", 0, i64::MAX)),
                None if integer => Some(("int64", i64::MIN, i64::MAX)),
                _ => None,
            };
            if let Some((format, lo, hi)) = range {
                let declared = |key: &str| map.get(key).and_then(Value::as_f64);
                let lo = declared("minimum").map_or(lo, |m| lo.max(m.ceil() as i64));
                let hi = declared("maximum").map_or(hi, |m| hi.min(m.floor() as i64));
                map.insert("format".into(), format.into());
                map.insert("minimum".into(), lo.into());
                map.insert("maximum".into(), hi.into());
            }
            map.values_mut().for_each(integer_ranges);
        }
        Value::Array(items) => items.iter_mut().for_each(integer_ranges),
        _ => {}
    }
}

/// Request enums whose variants take no key but their own (`deny_unknown_fields`, which
/// utoipa shows on structs only); `tests::closed_variants_refuse_other_keys` holds serde to it.
pub(super) fn close_variants(doc: &mut serde_json::Value) {
    use utoipa::ToSchema;
    for name in [crate::registry::matching::Target::name()] {
        let variants = doc
            .pointer_mut(&format!("/components/schemas/{name}/oneOf"))
            .and_then(serde_json::Value::as_array_mut);
        for variant in variants.into_iter().flatten() {
            if let Some(v) = variant.as_object_mut() {
                v.insert("additionalProperties".into(), false.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// What `close_variants` says of `Target`: serde refuses any key but the variant's own.
    #[test]
    fn closed_variants_refuse_other_keys() {
        use crate::registry::matching::Target;
        use serde_json::json;
        for body in [
            json!({ "kind": "from_study", "value": "x" }),
            json!({ "kind": "order", "value": "A1", "note": 1 }),
        ] {
            assert!(
                serde_json::from_value::<Target>(body.clone()).is_err(),
                "{body}"
            );
        }
        assert!(serde_json::from_value::<Target>(json!({ "kind": "from_study" })).is_ok());
        let doc = serde_json::to_value(super::super::document()).expect("document JSON");
        let variants = doc["components"]["schemas"]["Target"]["oneOf"]
            .as_array()
            .expect("Target's variants");
        assert!(variants.iter().all(|v| v["additionalProperties"] == false));
    }

    /// A Rust integer's range, not the nearest OpenAPI format's: a u32 goes past int32.
    #[test]
    fn integers_carry_their_types_range() {
        let doc = serde_json::to_value(super::super::document()).expect("document JSON");
        let limit = &doc["components"]["schemas"]["PageRequest"]["properties"]["limit"];
        assert_eq!(limit["format"], "int64");
        assert_eq!(limit["minimum"], 0);
        assert_eq!(limit["maximum"], u32::MAX);
    }

    /// The bounds the document states by hand (`#[schema(...)]` takes only literals) are the
    /// ones the engine checks.
    #[test]
    fn stated_bounds_are_the_engines() {
        use crate::auth::{password, tokens};
        let doc = serde_json::to_value(super::super::document()).expect("document JSON");
        let field = |schema: &str, key: &str| {
            doc["components"]["schemas"][schema]["properties"][key].clone()
        };
        let range = |v: serde_json::Value| (v["minimum"].as_u64(), v["maximum"].as_u64());
        let days = u64::from(crate::api::routing::MAX_DAYS);
        assert_eq!(
            range(field("UnroutedQuery", "since_days")),
            (Some(1), Some(days))
        );
        assert_eq!(
            range(field("DashboardQuery", "period_days")),
            (Some(1), Some(days))
        );
        let lifetime_days = tokens::MAX_LIFETIME.as_secs() / 86_400;
        assert_eq!(
            range(field("TokenCreate", "expires_days")),
            (Some(1), Some(lifetime_days))
        );
        for (schema, key) in [
            ("UserCreate", "password"),
            ("UserUpdate", "password"),
            ("PasswordChange", "new_password"),
        ] {
            let p = field(schema, key);
            let length = (p["minLength"].as_u64(), p["maxLength"].as_u64());
            let engine = (password::MIN_LENGTH as u64, password::MAX_LENGTH as u64);
            assert_eq!(length, (Some(engine.0), Some(engine.1)), "{schema}.{key}");
        }
    }
}
