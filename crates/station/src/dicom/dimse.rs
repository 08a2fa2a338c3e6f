//! DIMSE command sets (PS3.7 §9.3 and §E): parsing the requests a device sends and building
//! our responses. Command sets are always Implicit VR Little Endian (PS3.7 §6.3.1).
//!
//! Must never: touch datasets. A C-STORE's dataset goes straight from the wire to the disk.

use dicom_core::{dicom_value, DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;

/// Command Field values (PS3.7 §E.1).
pub mod command_field {
    /// C-STORE request (PS3.7 §9.3.1.1).
    pub const C_STORE_RQ: u16 = 0x0001;
    /// C-STORE response (PS3.7 §9.3.1.2).
    pub const C_STORE_RSP: u16 = 0x8001;
    /// C-ECHO request (PS3.7 §9.3.5.1).
    pub const C_ECHO_RQ: u16 = 0x0030;
    /// C-ECHO response (PS3.7 §9.3.5.2).
    pub const C_ECHO_RSP: u16 = 0x8030;
    /// C-FIND request (PS3.7 §9.3.2.1).
    pub const C_FIND_RQ: u16 = 0x0020;
    /// C-FIND response (PS3.7 §9.3.2.2).
    pub const C_FIND_RSP: u16 = 0x8020;
    /// C-CANCEL request, for a C-FIND, C-GET or C-MOVE in progress (PS3.7 §9.3.2.3).
    pub const C_CANCEL_RQ: u16 = 0x0FFF;
    /// C-GET request (PS3.7 §9.3.3.1).
    pub const C_GET_RQ: u16 = 0x0010;
    /// C-GET response (PS3.7 §9.3.3.2).
    pub const C_GET_RSP: u16 = 0x8010;
    /// C-MOVE request (PS3.7 §9.3.4.1).
    pub const C_MOVE_RQ: u16 = 0x0021;
    /// C-MOVE response (PS3.7 §9.3.4.2).
    pub const C_MOVE_RSP: u16 = 0x8021;
}

/// Status codes we answer with (PS3.7 Annex C, PS3.4 §B.2.3).
pub mod status {
    /// Success (PS3.7 §C.1.1).
    pub const SUCCESS: u16 = 0x0000;
    /// Refused: Out of Resources (PS3.4 §B.2.3), used when the disk is under the floor.
    pub const OUT_OF_RESOURCES: u16 = 0xA700;
    /// Error: Cannot understand (PS3.4 §B.2.3): the dataset could not be read.
    pub const CANNOT_UNDERSTAND: u16 = 0xC000;
    /// Failure: Processing failure (PS3.7 §C.4.2).
    pub const PROCESSING_FAILURE: u16 = 0x0110;
    /// Failure: Unrecognized operation (PS3.7 §C.4.5).
    pub const UNRECOGNIZED_OPERATION: u16 = 0x0211;
    /// Refused: Not Authorized (PS3.7 §C.5.x, 0124H): the caller may not use this service.
    pub const NOT_AUTHORIZED: u16 = 0x0124;
    /// Failure: SOP Class not supported (PS3.7 §C.4.4).
    pub const SOP_CLASS_NOT_SUPPORTED: u16 = 0x0122;
    /// C-FIND Pending: a match follows (PS3.4 §C.4.1.1.4).
    pub const PENDING: u16 = 0xFF00;
    /// C-FIND Cancel: matching ended by a C-CANCEL (PS3.4 §C.4.1.1.4).
    pub const CANCEL: u16 = 0xFE00;
    /// C-FIND Failure: Identifier does not match SOP Class (PS3.4 §C.4.1.1.4).
    pub const IDENTIFIER_MISMATCH: u16 = 0xA900;
    /// C-MOVE Failure: Move Destination unknown (PS3.4 §C.4.2.1.5).
    pub const MOVE_DESTINATION_UNKNOWN: u16 = 0xA801;
    /// C-MOVE / C-GET Warning: sub-operations complete, one or more failures (PS3.4 §C.4.2.1.5).
    pub const SUB_OPERATIONS_FAILED: u16 = 0xB000;
    /// C-MOVE / C-GET Failure: unable to perform sub-operations (PS3.4 §C.4.2.1.5).
    pub const UNABLE_TO_PERFORM: u16 = 0xA702;
}

/// Command Data Set Type value meaning "no dataset follows" (PS3.7 §E.1).
const NO_DATASET: u16 = 0x0101;

/// A command set that cannot be read, or a response that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum DimseError {
    /// Too big, not plain Implicit VR Little Endian elements, or unparsable.
    #[error("cannot parse command set: {0}")]
    Parse(String),
    /// A required element is absent (its name and tag).
    #[error("command set lacks {0}")]
    Missing(&'static str),
    /// Our response could not be encoded.
    #[error("cannot encode command set: {0}")]
    Encode(String),
}

/// The largest command set accepted, its fragments joined (issue 18: 64 KiB).
pub const MAX_COMMAND_SET: usize = 64 * 1024;

/// The parts of a request command set we act on.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Command Field (0000,0100): one of [`command_field`].
    pub command_field: u16,
    /// Message ID (0000,0110); for a C-CANCEL-RQ, the Message ID Being Responded To.
    pub message_id: u16,
    /// Affected SOP Class UID (0000,0002), padding trimmed; empty when absent.
    pub affected_sop_class_uid: String,
    /// Affected SOP Instance UID (0000,1000), padding trimmed; empty when absent.
    pub affected_sop_instance_uid: String,
    /// Command Data Set Type (0000,0800) is not 0101H: a dataset follows.
    pub has_dataset: bool,
    /// Move Destination (0000,0600) of a C-MOVE-RQ; empty otherwise.
    pub move_destination: String,
}

/// The sub-operation counts of a C-MOVE-RSP or C-GET-RSP (PS3.7 §9.3.3.2, §9.3.4.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubOperations {
    /// Number of Remaining Sub-operations (0000,1020).
    pub remaining: u16,
    /// Number of Completed Sub-operations (0000,1021).
    pub completed: u16,
    /// Number of Failed Sub-operations (0000,1022).
    pub failed: u16,
    /// Number of Warning Sub-operations (0000,1023).
    pub warning: u16,
}

/// What we read of a response a peer sent us (a C-STORE-RSP to our sub-operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// Command Field (0000,0100).
    pub command_field: u16,
    /// Message ID Being Responded To (0000,0120).
    pub message_id_responded: u16,
    /// Absent in a C-CANCEL-RQ, which also names the request it is about.
    pub status: Option<u16>,
}

impl Response {
    /// Reads a response command set (Implicit VR Little Endian, bounded like a request's).
    pub fn parse(bytes: &[u8]) -> Result<Response, DimseError> {
        let obj = parse_command_set(bytes)?;
        let u16_of = |tag, name| u16_in(&obj, tag, name);
        Ok(Response {
            command_field: u16_of(tags::COMMAND_FIELD, "Command Field (0000,0100)")?,
            message_id_responded: u16_of(
                tags::MESSAGE_ID_BEING_RESPONDED_TO,
                "Message ID Being Responded To (0000,0120)",
            )?,
            status: u16_of(tags::STATUS, "Status (0000,0900)").ok(),
        })
    }
}

/// A US element of a command set, or which is missing.
fn u16_in(
    obj: &InMemDicomObject,
    tag: dicom_core::Tag,
    name: &'static str,
) -> Result<u16, DimseError> {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_int::<u16>().ok())
        .ok_or(DimseError::Missing(name))
}

/// A command set read within the bounds every one we take obeys.
fn parse_command_set(bytes: &[u8]) -> Result<InMemDicomObject, DimseError> {
    // A command set is a few hundred bytes of plain elements (PS3.7 §6.3): anything bigger or
    // holding a sequence is refused before dicom-rs, which recurses and allocates by
    // declared lengths, parses it.
    if bytes.len() > MAX_COMMAND_SET {
        return Err(DimseError::Parse(format!(
            "{} bytes, more than the {MAX_COMMAND_SET} a command set may have",
            bytes.len()
        )));
    }
    super::bounds::check(bytes, false, 0).map_err(|e| DimseError::Parse(e.to_string()))?;
    InMemDicomObject::read_dataset_with_ts(bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| DimseError::Parse(e.to_string()))
}

impl Command {
    /// Reads a request command set (Implicit VR Little Endian, at most [`MAX_COMMAND_SET`]).
    pub fn parse(bytes: &[u8]) -> Result<Command, DimseError> {
        let obj = parse_command_set(bytes)?;
        let u16_of = |tag, name| u16_in(&obj, tag, name);
        let str_of = |tag| -> String {
            obj.element(tag)
                .ok()
                .and_then(|e| e.to_str().ok())
                .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
                .unwrap_or_default()
        };
        let command_field = u16_of(tags::COMMAND_FIELD, "Command Field (0000,0100)")?;
        // A C-CANCEL-RQ names the request it cancels instead of having its own ID (PS3.7 §9.3.2.3).
        let message_id = if command_field == command_field::C_CANCEL_RQ {
            u16_of(
                tags::MESSAGE_ID_BEING_RESPONDED_TO,
                "Message ID Being Responded To (0000,0120)",
            )?
        } else {
            u16_of(tags::MESSAGE_ID, "Message ID (0000,0110)")?
        };
        Ok(Command {
            command_field,
            message_id,
            affected_sop_class_uid: str_of(tags::AFFECTED_SOP_CLASS_UID),
            affected_sop_instance_uid: str_of(tags::AFFECTED_SOP_INSTANCE_UID),
            has_dataset: u16_of(
                tags::COMMAND_DATA_SET_TYPE,
                "Command Data Set Type (0000,0800)",
            )? != NO_DATASET,
            move_destination: str_of(tags::MOVE_DESTINATION).trim().to_string(),
        })
    }
}

/// A response command set (C-ECHO-RSP, C-STORE-RSP, or a generic failure) encoded for sending.
pub fn response(
    request: &Command,
    response_field: u16,
    status: u16,
    error_comment: Option<&str>,
) -> Result<Vec<u8>, DimseError> {
    response_with(request, response_field, status, error_comment, false)
}

/// As [`response`]; `has_dataset` announces an identifier following (a pending C-FIND-RSP).
pub fn response_with(
    request: &Command,
    response_field: u16,
    status: u16,
    error_comment: Option<&str>,
    has_dataset: bool,
) -> Result<Vec<u8>, DimseError> {
    encode(response_elements(
        request,
        response_field,
        status,
        error_comment,
        has_dataset,
    ))
}

/// A C-MOVE-RSP or C-GET-RSP with its sub-operation counts; a final one with failures carries
/// the Failed SOP Instance UID List as its dataset (announced by `has_dataset`).
pub fn retrieve_response(
    request: &Command,
    response_field: u16,
    status: u16,
    counts: SubOperations,
    has_dataset: bool,
) -> Result<Vec<u8>, DimseError> {
    let mut elements = response_elements(request, response_field, status, None, has_dataset);
    // Remaining is sent only with Pending (PS3.7 Table 9.3-6).
    let mut numbers = vec![
        (tags::NUMBER_OF_COMPLETED_SUBOPERATIONS, counts.completed),
        (tags::NUMBER_OF_FAILED_SUBOPERATIONS, counts.failed),
        (tags::NUMBER_OF_WARNING_SUBOPERATIONS, counts.warning),
    ];
    if status == status::PENDING {
        numbers.push((tags::NUMBER_OF_REMAINING_SUBOPERATIONS, counts.remaining));
    }
    for (tag, n) in numbers {
        elements.push(DataElement::new(tag, VR::US, dicom_value!(U16, [n])));
    }
    encode(elements)
}

/// A C-STORE-RQ for a sub-operation of a C-MOVE or C-GET (PS3.7 §9.3.1.1); a C-MOVE names
/// its originator so the destination can tell whose move it was.
pub fn store_request(
    message_id: u16,
    sop_class_uid: &str,
    sop_instance_uid: &str,
    originator: Option<(&str, u16)>,
) -> Result<Vec<u8>, DimseError> {
    let mut elements = vec![
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            dicom_value!(Str, uid_value(sop_class_uid)),
        ),
        DataElement::new(
            tags::COMMAND_FIELD,
            VR::US,
            dicom_value!(U16, [command_field::C_STORE_RQ]),
        ),
        DataElement::new(tags::MESSAGE_ID, VR::US, dicom_value!(U16, [message_id])),
        DataElement::new(tags::PRIORITY, VR::US, dicom_value!(U16, [0])),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [0x0000]),
        ),
        DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            dicom_value!(Str, uid_value(sop_instance_uid)),
        ),
    ];
    if let Some((ae, id)) = originator {
        let mut ae = ae.to_string();
        if ae.len() % 2 == 1 {
            ae.push(' ');
        }
        elements.push(DataElement::new(
            tags::MOVE_ORIGINATOR_APPLICATION_ENTITY_TITLE,
            VR::AE,
            dicom_value!(Str, ae),
        ));
        elements.push(DataElement::new(
            tags::MOVE_ORIGINATOR_MESSAGE_ID,
            VR::US,
            dicom_value!(U16, [id]),
        ));
    }
    encode(elements)
}

fn encode(elements: Vec<DataElement<InMemDicomObject>>) -> Result<Vec<u8>, DimseError> {
    let obj = InMemDicomObject::command_from_element_iter(elements);
    let mut out = Vec::with_capacity(256);
    obj.write_dataset_with_ts(&mut out, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| DimseError::Encode(e.to_string()))?;
    Ok(out)
}

fn response_elements(
    request: &Command,
    response_field: u16,
    status: u16,
    error_comment: Option<&str>,
    has_dataset: bool,
) -> Vec<DataElement<InMemDicomObject>> {
    let mut elements = vec![
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            dicom_value!(Str, uid_value(&request.affected_sop_class_uid)),
        ),
        DataElement::new(
            tags::COMMAND_FIELD,
            VR::US,
            dicom_value!(U16, [response_field]),
        ),
        DataElement::new(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            VR::US,
            dicom_value!(U16, [request.message_id]),
        ),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [if has_dataset { 0x0000 } else { NO_DATASET }]),
        ),
        DataElement::new(tags::STATUS, VR::US, dicom_value!(U16, [status])),
    ];
    if !request.affected_sop_instance_uid.is_empty() {
        elements.push(DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            dicom_value!(Str, uid_value(&request.affected_sop_instance_uid)),
        ));
    }
    if let Some(comment) = error_comment {
        // Error Comment is LO: 64 characters at most, default repertoire.
        let ascii: String = comment
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .take(64)
            .collect();
        elements.push(DataElement::new(
            tags::ERROR_COMMENT,
            VR::LO,
            dicom_value!(Str, ascii),
        ));
    }
    elements
}

/// UI values are padded with NUL to an even length (PS3.5 §6.2).
fn uid_value(uid: &str) -> String {
    let mut s = uid.to_string();
    if s.len() % 2 == 1 {
        s.push('\0');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_request_is_parsed() {
        let bytes = store_request(
            3,
            "1.2.840.10008.5.1.4.1.1.7",
            "1.2.3.4",
            Some(("VIEWER", 9)),
        )
        .expect("encode");
        let cmd = Command::parse(&bytes).expect("parse");
        assert_eq!(cmd.command_field, command_field::C_STORE_RQ);
        assert_eq!(cmd.message_id, 3);
        assert_eq!(cmd.affected_sop_class_uid, "1.2.840.10008.5.1.4.1.1.7");
        assert_eq!(cmd.affected_sop_instance_uid, "1.2.3.4");
        assert!(cmd.has_dataset);
    }

    #[test]
    fn store_response_round_trips_through_the_parser() {
        let rq = Command {
            command_field: command_field::C_STORE_RQ,
            message_id: 7,
            affected_sop_class_uid: "1.2.840.10008.5.1.4.1.1.1.1".into(),
            affected_sop_instance_uid: "1.2.3.4.5".into(),
            has_dataset: true,
            move_destination: String::new(),
        };
        let bytes = response(
            &rq,
            command_field::C_STORE_RSP,
            status::OUT_OF_RESOURCES,
            Some("disk full"),
        )
        .expect("encode");
        let obj =
            InMemDicomObject::read_dataset_with_ts(&bytes[..], &IMPLICIT_VR_LITTLE_ENDIAN.erased())
                .expect("decode");
        assert_eq!(
            obj.element(tags::STATUS)
                .expect("status")
                .to_int::<u16>()
                .expect("u16"),
            0xA700
        );
        assert_eq!(
            obj.element(tags::MESSAGE_ID_BEING_RESPONDED_TO)
                .expect("id")
                .to_int::<u16>()
                .expect("u16"),
            7
        );
        assert!(
            obj.element(tags::COMMAND_GROUP_LENGTH).is_ok(),
            "group length is required in command sets"
        );
        assert_eq!(
            obj.element(tags::COMMAND_FIELD)
                .expect("field")
                .to_int::<u16>()
                .expect("u16"),
            command_field::C_STORE_RSP
        );
        assert_eq!(
            obj.element(tags::COMMAND_DATA_SET_TYPE)
                .expect("type")
                .to_int::<u16>()
                .expect("u16"),
            0x0101
        );
    }
}
