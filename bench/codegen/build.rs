//! Compiles the benchmark's protos without protoc: protox -> FileDescriptorSet ->
//! prost-build (structs) + pbjson-build (serde impls, proto3 JSON names and encodings).
//! Well-known types come from pbjson-types (`extern_path`), which carries their serde impls.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let bench = manifest
        .parent()
        .expect("bench/codegen has a parent")
        .to_path_buf();
    let vendored = manifest.join("proto");
    let files = [
        bench.join("analytics.proto"),
        vendored.join("opentelemetry/proto/collector/trace/v1/trace_service.proto"),
    ];
    for dir in [&bench, &vendored] {
        println!("cargo:rerun-if-changed={}", dir.display());
    }

    let fds = protox::compile(&files, [&bench, &vendored])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);

    // compile_well_known_types drops prost-build's own `.google.protobuf` -> prost_types
    // mapping, so the one to pbjson_types (the documented pbjson setup) can take its place.
    prost_build::Config::new()
        .out_dir(&out)
        .compile_well_known_types()
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_fds(fds.clone())?;

    pbjson_build::Builder::new()
        .out_dir(&out)
        .register_descriptors(&fds.encode_to_vec())?
        .extern_path(".google.protobuf", "::pbjson_types")
        .build(&[".bench", ".opentelemetry"])?;
    Ok(())
}
