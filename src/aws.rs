//! The AWS configuration the SDK clients are built from: aws-config's standard chain
//! (environment, profile, web identity, container and instance metadata), so
//! `AWS_ENDPOINT_URL` points every client at a local emulator alike.

use aws_config::SdkConfig;

/// Loads the SDK configuration. Not cached: a client's connection pool belongs to the
/// runtime it was built on, and tests run many runtimes in one process.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}
