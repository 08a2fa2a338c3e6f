//! The PS3.10 file header: 128-byte preamble, "DICM" and the File Meta Information group
//! (PS3.10 §7.1), explicit VR little endian with its group length first. The one writer of it:
//! ingest (an object received over the network, whose dataset bytes follow unchanged), the
//! converter of device exports and the demo's device files.
//!
//! Must never: write a meta group whose group length is not its exact size.

use std::io;

use super::element::{self, padded};

/// The station's implementation class UID (PS3.7 §D.3.3.2), under a UUID-derived root.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.137201805216718163513236404374281862421";
/// The station's implementation version name (0002,0013), at most 16 characters.
pub const IMPLEMENTATION_VERSION_NAME: &str = "CLINICSTATION01";

/// What the meta group says.
#[derive(Debug, Clone, Copy)]
pub struct FileMeta<'a> {
    /// (0002,0002) Media Storage SOP Class UID.
    pub sop_class_uid: &'a str,
    /// (0002,0003) Media Storage SOP Instance UID.
    pub sop_instance_uid: &'a str,
    /// (0002,0010) Transfer Syntax UID of the dataset that follows.
    pub transfer_syntax: &'a str,
    /// (0002,0012) Implementation Class UID of the writer.
    pub implementation_class_uid: &'a str,
    /// (0002,0013) Implementation Version Name of the writer.
    pub implementation_version_name: &'a str,
    /// (0002,0016) Source Application Entity Title, when known.
    pub source_ae: Option<&'a str>,
}

impl<'a> FileMeta<'a> {
    /// An object the station writes or stores, as this implementation.
    pub fn station(
        sop_class_uid: &'a str,
        sop_instance_uid: &'a str,
        transfer_syntax: &'a str,
    ) -> FileMeta<'a> {
        FileMeta {
            sop_class_uid,
            sop_instance_uid,
            transfer_syntax,
            implementation_class_uid: IMPLEMENTATION_CLASS_UID,
            implementation_version_name: IMPLEMENTATION_VERSION_NAME,
            source_ae: None,
        }
    }
}

/// Preamble, "DICM" and the file meta group, ready for the dataset's bytes.
pub fn prefix(meta: &FileMeta<'_>) -> io::Result<Vec<u8>> {
    let mut group = Vec::new();
    let mut put = |tag: u32, vr: [u8; 2], value: &[u8]| -> io::Result<()> {
        group.extend(element::element(
            tag,
            vr,
            &padded(vr, value.to_vec()),
            true,
        )?);
        Ok(())
    };
    put(0x0002_0001, *b"OB", &[0x00, 0x01])?;
    put(0x0002_0002, *b"UI", meta.sop_class_uid.as_bytes())?;
    put(0x0002_0003, *b"UI", meta.sop_instance_uid.as_bytes())?;
    put(0x0002_0010, *b"UI", meta.transfer_syntax.as_bytes())?;
    put(
        0x0002_0012,
        *b"UI",
        meta.implementation_class_uid.as_bytes(),
    )?;
    put(
        0x0002_0013,
        *b"SH",
        meta.implementation_version_name.as_bytes(),
    )?;
    if let Some(ae) = meta.source_ae {
        put(0x0002_0016, *b"AE", ae.as_bytes())?;
    }
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    let length = u32::try_from(group.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file meta group too long"))?;
    out.extend(element::element(
        0x0002_0000,
        *b"UL",
        &length.to_le_bytes(),
        true,
    )?);
    out.extend(group);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same bytes dicom-object writes for the same meta group: files stored before this
    /// writer existed and after are alike.
    #[test]
    fn matches_the_dicom_rs_meta_writer() {
        for (class, sop, ts) in [
            (
                "1.2.840.10008.5.1.4.1.1.1.1",
                "1.2.3.4.5",
                "1.2.840.10008.1.2.1",
            ),
            ("1.2.840.10008.5.1.4.1.1.7", "1.2.3.44", "1.2.840.10008.1.2"),
            (
                "1.2.840.10008.5.1.4.1.1.6.1",
                "2.25.1234567",
                "1.2.840.10008.1.2.4.50",
            ),
        ] {
            let ours = prefix(&FileMeta::station(class, sop, ts)).expect("ours");
            let meta = dicom_object::meta::FileMetaTableBuilder::new()
                .media_storage_sop_class_uid(class)
                .media_storage_sop_instance_uid(sop)
                .transfer_syntax(ts)
                .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
                .implementation_version_name(IMPLEMENTATION_VERSION_NAME)
                .build()
                .expect("meta");
            let mut theirs = vec![0u8; 128];
            theirs.extend_from_slice(b"DICM");
            meta.write(&mut theirs).expect("write");
            assert_eq!(ours, theirs, "{sop} {ts}");
        }
    }
}
