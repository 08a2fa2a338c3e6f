//! A request that does not fit its operation is refused in a sentence that names the field as
//! the user knows it (出生日期, not `birth_date`), in Chinese or English, with the engine's own
//! words kept apart as `detail` for the UI's details toggle.

use serde_json::{json, Value};

use crate::harness::*;

/// The refusal of `op` with `body`, in `lang`, with HTTP `status` (400: the body does not fit
/// the API's document; 422: it does, but a value is refused): (field, message, detail).
fn refused(
    client: &Client,
    token: &str,
    (op, body): (&str, Value),
    lang: &str,
    status: u16,
) -> (String, String, String) {
    let r = client.call_lang(Some(token), op, body, lang);
    assert_eq!((r.status, r.code()), (status, "invalid"), "{op}: {r:?}");
    let text = |k: &str| r.body["error"][k].as_str().unwrap_or_default().to_owned();
    (text("field"), text("message"), text("detail"))
}

#[test]
fn an_invalid_request_names_the_field_in_the_users_words_with_the_detail_apart() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let client = Client::new(&station);
    let admin = client.admin();
    let tech = client.user(&admin, "li.tech", "technician");

    // A birth date sent as a number: the wrong type for the field.
    let body = json!({ "name": "王^小明", "sex": "M", "birth_date": 19580312 });
    let (field, zh, detail) = refused(&client, &tech, ("patient_add", body.clone()), "zh-CN", 400);
    assert_eq!(field, "birth_date");
    assert_eq!(zh, "「出生日期」填写有误，请检查后重试。");
    assert!(
        detail.contains("invalid type"),
        "serde's words as the detail: {detail}"
    );
    let (_, en, _) = refused(&client, &tech, ("patient_add", body), "en-US,en;q=0.9", 400);
    assert_eq!(
        en,
        "“birth date” is not valid: please check it and try again."
    );

    // A correction that does not say whose: the missing field named.
    let body = json!({ "patient": { "name": "王^小明" } });
    let (field, zh, detail) = refused(
        &client,
        &tech,
        ("patient_update", body.clone()),
        "zh-CN",
        400,
    );
    assert_eq!(field, "clinic_id");
    assert_eq!(zh, "缺少「患者编号」，请填写后重试。");
    assert!(detail.contains("missing field `clinic_id`"), "{detail}");
    let (_, en, _) = refused(&client, &tech, ("patient_update", body), "en", 400);
    assert_eq!(
        en,
        "“clinic patient ID” is missing: please fill it in and try again."
    );

    // A date the engine reads itself and refuses.
    let body = json!({ "date_from": "2026-13-45x" });
    let (field, zh, detail) = refused(&client, &tech, ("orders_list", body), "zh-CN", 422);
    assert_eq!(field, "date_from");
    assert_eq!(zh, "「开始日期」填写有误，请检查后重试。");
    assert!(detail.contains("YYYYMMDD"), "{detail}");
}
