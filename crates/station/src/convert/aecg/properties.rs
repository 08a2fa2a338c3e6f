//! Property tests of the aECG reader (issue 18): an HL7 aECG from a watched folder, cut short,
//! with bytes changed, or with any number where a number belongs, is converted or refused to
//! quarantine with a reason, never a panic; what it converts reads back as a waveform.
//! Bounded (64 cases each) so they run with the unit tests.

use proptest::prelude::*;

use crate::dicom::properties::config;

use super::tests::{context, SAMPLE};
use super::{build, parse};

/// Parse, and when that succeeds build the DICOM ECG and read it back as the viewer would.
fn convert(bytes: &[u8]) {
    if let Ok(ecg) = parse(bytes) {
        let ctx = context(&ecg);
        let object = build(&ctx, &ecg);
        let _ = crate::dicom::waveform::from_object(&object, ctx.sop_class_uid.into());
    }
}

/// Numbers a device or a hand-edited file might put where the sample has its values.
fn odd_number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("-0".to_string()),
        Just("1e309".to_string()),
        Just("99999999999999999999".to_string()),
        any::<f64>().prop_map(|v| v.to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        "[0-9 .eE+-]{0,12}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_aecg_cut_short_anywhere_is_converted_or_refused(cut in 0usize..4096) {
        let bytes = SAMPLE.as_bytes();
        convert(&bytes[..cut.min(bytes.len())]);
    }

    #[test]
    fn an_aecg_with_bytes_changed_anywhere_is_converted_or_refused(
        changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
    ) {
        let mut bytes = SAMPLE.as_bytes().to_vec();
        for (at, value) in changes {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        convert(&bytes);
    }

    #[test]
    fn any_number_in_any_numeric_place_is_converted_or_refused(
        place in 0usize..8,
        number in odd_number(),
    ) {
        // The sample's numeric attribute values and sample lists, in document order.
        let places = [
            "value=\"2\" unit=\"ms\"",
            "value=\"4.88\"",
            "value=\"0.01\"",
            "value=\"5\"",
            "1 -2 300 -32768 32767",
            "0 10 20 30 40",
            "value=\"20261129081502.000+0800\"",
            "value=\"19650304\"",
        ];
        let was = places[place];
        let now = match was.split_once('"') {
            Some((head, rest)) => format!("{head}\"{number}\"{}", rest.split_once('"').map_or("", |(_, t)| t)),
            None => number,
        };
        convert(SAMPLE.replacen(was, &now, 1).as_bytes());
    }
}
