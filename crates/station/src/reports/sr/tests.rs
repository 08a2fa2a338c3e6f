use super::*;

#[test]
fn names_read_as_people_write_them() {
    assert_eq!(person_name("王^建国"), "王建国");
    assert_eq!(person_name("Wang^JianGuo=王^建国="), "王建国");
    assert_eq!(person_name("Li^Ming^^Dr"), "Li Ming Dr");
    assert_eq!(person_name(""), "");
}

#[test]
fn report_kinds_come_from_the_sop_class() {
    assert_eq!(Kind::of_sop_class(ENHANCED_SR), Some(Kind::Sr));
    assert_eq!(Kind::of_sop_class(ENCAPSULATED_PDF), Some(Kind::Pdf));
    assert_eq!(
        Kind::of_sop_class(KEY_OBJECT_SELECTION),
        Some(Kind::KeyObjects)
    );
    assert_eq!(Kind::of_sop_class("1.2.840.10008.5.1.4.1.1.1.1"), None);
    assert_eq!(REPORT_CLASSES.len(), 5);
}
