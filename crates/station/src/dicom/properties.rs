//! Property tests of the parsers that read what a stranger sends (issue 18): the structure
//! walk, command sets, queries and character sets never panic on any bytes, and the file walk
//! and the in-memory walk agree on every cut of a sound dataset. Bounded (64 cases each) so
//! they run with the unit tests.

use proptest::prelude::*;

use super::bounds::{self, MAX_STORED_DEPTH};
use super::dimse::Command;
use super::element::{element, item};
use super::{charset, header, part10};

/// 64 cases, so the property tests run with the unit tests; `PROPTEST_CASES=N` for a longer
/// hunt by hand.
pub(crate) fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok());
    ProptestConfig::with_cases(cases.unwrap_or(64))
}

/// A sound explicit-VR dataset: a name, a sequence of `depth` nested items, pixel data.
fn sound_dataset(depth: usize, pixels: usize) -> Vec<u8> {
    let mut inner = element(0x0010_0010, *b"PN", b"WANG^XIAO ", true).expect("name");
    for _ in 0..depth {
        inner = element(0x0040_0100, *b"SQ", &item(&inner), true).expect("sequence");
    }
    let pixel = element(0x7FE0_0010, *b"OB", &vec![7u8; pixels], true).expect("pixels");
    [inner, pixel].concat()
}

/// Found by the report reader's property test: a byte changed in a meta element's tag ended our
/// walk of the meta group early, while dicom-rs reads the group by its stated length and met the
/// next element's changed VR as a 4-byte length (774 MB zero-filled for a 1 KB file). A file
/// whose stated meta group holds anything but sound meta elements is not Part 10.
#[test]
fn a_meta_group_holding_a_stranger_is_refused_before_dicom_rs_reads_it() {
    let meta = part10::FileMeta::station(
        "1.2.840.10008.5.1.4.1.1.7",
        "1.2.3.4",
        "1.2.840.10008.1.2.1",
    );
    let prefix = part10::prefix(&meta).expect("meta");
    let dataset = sound_dataset(1, 16);
    let write = |bytes: &[u8]| {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), bytes).expect("write");
        file
    };
    let sound = write(&[prefix.clone(), dataset.clone()].concat());
    assert!(
        bounds::open_file(sound.path()).is_ok(),
        "the sound file opens"
    );
    // As the report reader's test found it: (0002,0003)'s group changed, and (0002,0010) given
    // a VR that dicom-rs reads with a 4-byte length (the UID's first bytes, hundreds of MB).
    let at = |tag: [u8; 4]| {
        prefix
            .windows(6)
            .position(|w| w[..4] == tag && w[4..] == *b"UI")
            .expect("element in the meta group")
    };
    let mut damaged = prefix.clone();
    let instance = at([0x02, 0x00, 0x03, 0x00]);
    damaged[instance + 1] = 0x83;
    let syntax = at([0x02, 0x00, 0x10, 0x00]);
    damaged[syntax + 4] = 0x18;
    let damaged = write(&[damaged, dataset].concat());
    assert!(matches!(
        bounds::open_file(damaged.path()),
        Err(bounds::OpenError::NotPart10)
    ));
    assert!(matches!(
        bounds::check_file(damaged.path(), MAX_STORED_DEPTH),
        Err(bounds::OpenError::NotPart10)
    ));
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_structure_walk_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048), explicit in any::<bool>()) {
        let _ = bounds::check(&bytes, explicit, MAX_STORED_DEPTH);
    }

    #[test]
    fn a_command_set_of_any_bytes_is_parsed_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = Command::parse(&bytes);
    }

    #[test]
    fn a_query_of_any_bytes_is_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = header::read_query_text(&bytes, "1.2.840.10008.1.2");
        let _ = header::read_query_text(&bytes, "1.2.840.10008.1.2.1");
    }

    #[test]
    fn text_in_any_declared_character_set_decodes(
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
        which in 0usize..6,
    ) {
        let declared = ["", "ISO_IR 192", "GB18030", "GBK", "\\ISO 2022 IR 58", "ISO_IR 100"][which];
        let _ = charset::decode(&charset::split_declared(declared.as_bytes()), &bytes);
    }

    #[test]
    fn the_file_walk_agrees_with_the_memory_walk_on_every_cut(depth in 0usize..6, pixels in 0usize..64, cut in 0usize..512) {
        let dataset = sound_dataset(depth, pixels * 2);
        let cut = cut.min(dataset.len());
        let part = &dataset[..cut];
        let meta = part10::FileMeta::station("1.2.840.10008.5.1.4.1.1.7", "1.2.3.4", "1.2.840.10008.1.2.1");
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), [part10::prefix(&meta).expect("meta"), part.to_vec()].concat()).expect("write");
        let in_memory = bounds::check(part, true, MAX_STORED_DEPTH).is_ok();
        let on_disk = bounds::check_file(file.path(), MAX_STORED_DEPTH).is_ok();
        prop_assert_eq!(in_memory, on_disk);
        if cut == dataset.len() {
            prop_assert!(on_disk, "the whole dataset is sound");
        }
    }
}
