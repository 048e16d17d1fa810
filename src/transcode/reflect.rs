//! The reflect engine: prost-reflect `DynamicMessage` + serde. A second opinion, and the
//! baseline the direct engine's speed is measured against.

use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};

use super::{JsonOptions, Result, TranscodeError, TranscodeErrorKind};

pub(super) fn transcode(
    desc: &MessageDescriptor,
    bytes: &[u8],
    opts: &JsonOptions,
    out: &mut Vec<u8>,
) -> Result<()> {
    let mut msg = DynamicMessage::new(desc.clone());
    msg.merge(bytes).map_err(|e| TranscodeError {
        offset: 0,
        kind: TranscodeErrorKind::Reflect(e.to_string()),
    })?;
    let options = SerializeOptions::new()
        .use_proto_field_name(opts.proto_field_names)
        .use_enum_numbers(opts.enum_numbers)
        .skip_default_fields(!opts.emit_defaults);
    let mut ser = serde_json::Serializer::new(&mut *out);
    msg.serialize_with_options(&mut ser, &options)
        .map_err(|e| TranscodeError {
            offset: 0,
            kind: TranscodeErrorKind::Reflect(e.to_string()),
        })
}
