//! The S3 store (aws-sdk-s3): paginated listing, whole and streamed reads pinned to a
//! version or ETag, puts from memory or from a spooled file (multipart above a threshold).
//! The only module besides the SQS edge (`poll.rs`) that sees aws-sdk types.

use std::path::Path;
use std::sync::Arc;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use tempfile::NamedTempFile;

use super::{Buckets, Fetched, ObjectInfo, Opened, Pin, Store, StoreError};

/// An S3 client from aws-config's standard chain (env, profile, web identity, IMDS).
/// Path-style addressing keeps local S3s (moto, MinIO) working; real S3 accepts it too.
pub async fn client() -> Client {
    let conf = aws_sdk_s3::config::Builder::from(&crate::aws::sdk_config().await)
        .force_path_style(true)
        .build();
    Client::from_conf(conf)
}

/// The stores of the buckets that notifications name, sharing one client.
pub fn buckets(client: Client) -> Buckets {
    Arc::new(move |bucket: &str| -> Arc<dyn Store> {
        Arc::new(S3Store::new(client.clone(), bucket.to_owned()))
    })
}

/// One bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    multipart_threshold: u64,
    part_size: u64,
}

/// One object of a listing page ([`S3Store::list_page`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Full key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Entity tag without quotes.
    pub etag: String,
    /// When the object was written (S3's LastModified).
    pub last_modified: Option<std::time::SystemTime>,
}

/// A page of a listing and the continuation token of the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// The objects, in key order.
    pub objects: Vec<ListedObject>,
    /// The token for the next page; `None` after the last.
    pub next: Option<String>,
}

/// A local file (the temporary output) could not be read for upload.
fn file_error(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Other {
        location: path.display().to_string(),
        message: e.to_string(),
        retryable: false,
    }
}

fn unquote(etag: Option<&str>) -> String {
    etag.unwrap_or_default().trim_matches('"').to_owned()
}

fn map_err<E, R>(location: String, e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let status = match &e {
        SdkError::ServiceError(se) => Some(se.raw()),
        _ => None,
    }
    .map(|r| format!("{:?}", r))
    .unwrap_or_default();
    let code = e.code().unwrap_or_default().to_owned();
    if matches!(code.as_str(), "NoSuchKey" | "NotFound" | "NoSuchBucket")
        || status.contains("StatusCode(404)")
    {
        return StoreError::NotFound { location };
    }
    if code == "PreconditionFailed" || status.contains("StatusCode(412)") {
        return StoreError::PreconditionFailed { location };
    }
    let retryable = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(_) => {
            matches!(
                code.as_str(),
                "SlowDown"
                    | "InternalError"
                    | "ServiceUnavailable"
                    | "RequestTimeout"
                    | "Throttling"
            ) || status.contains("StatusCode(5")
        }
        _ => false,
    };
    StoreError::Other {
        location,
        message: DisplayErrorContext(&e).to_string(),
        retryable,
    }
}

impl S3Store {
    /// A store for `bucket`.
    pub fn new(client: Client, bucket: String) -> Self {
        S3Store {
            client,
            bucket,
            multipart_threshold: MULTIPART_THRESHOLD,
            part_size: PART_SIZE,
        }
    }

    /// The same store with another multipart threshold and part size (tests use a small
    /// threshold to exercise multipart uploads with small outputs; S3 wants parts of at
    /// least 5 MiB except the last).
    pub fn with_multipart(mut self, threshold: u64, part_size: u64) -> Self {
        self.multipart_threshold = threshold;
        self.part_size = part_size.max(1);
        self
    }

    fn loc(&self, key: &str) -> String {
        self.describe(key)
    }

    /// One page (up to `max_keys`, S3's default 1,000) of the objects under `prefix`, with
    /// what a notification carries (ETag, size, LastModified), and the token of the next page
    /// (`None` after the last). Page by page, so a caller can start on the first page while
    /// a listing of millions of keys goes on, in bounded memory.
    ///
    /// ListObjectsV2, not ListObjectVersions: it lists exactly the current version of each
    /// key (no non-current versions or delete markers to page through and drop), and the
    /// ETag pins a read to those bytes as well as a version id would.
    pub async fn list_page(
        &self,
        prefix: &str,
        continuation: Option<&str>,
        max_keys: Option<i32>,
    ) -> Result<ListPage, StoreError> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_continuation_token(continuation.map(str::to_owned))
            .set_max_keys(max_keys)
            .send()
            .await
            .map_err(|e| map_err(self.loc(prefix), e))?;
        let objects = page
            .contents()
            .iter()
            .map(|o| ListedObject {
                key: o.key().unwrap_or_default().to_owned(),
                size: o.size().unwrap_or(0).max(0) as u64,
                etag: unquote(o.e_tag()),
                last_modified: o
                    .last_modified()
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
            })
            .collect();
        let next = match page.is_truncated() {
            Some(true) => page.next_continuation_token().map(str::to_owned),
            _ => None,
        };
        Ok(ListPage { objects, next })
    }
}

#[async_trait::async_trait]
impl Store for S3Store {
    fn describe(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// Every object under `prefix`, following continuation tokens.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_err(self.loc(prefix), e))?;
            for o in page.contents() {
                out.push(ObjectInfo {
                    key: o.key().unwrap_or_default().to_owned(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    etag: unquote(o.e_tag()),
                });
            }
        }
        Ok(out)
    }

    /// Reads a whole object into memory.
    async fn get(&self, key: &str) -> Result<Fetched, StoreError> {
        let resp = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| map_err(self.loc(key), e))?;
        let etag = unquote(resp.e_tag());
        let body = resp.body.collect().await.map_err(|e| StoreError::Other {
            location: self.loc(key),
            message: format!("reading the body failed: {e}"),
            retryable: true,
        })?;
        Ok(Fetched {
            body: body.into_bytes(),
            etag,
        })
    }

    /// Opens an object for streaming: pinned to the version when one is known, else to the
    /// ETag (`If-Match`), so a changed object fails with [`StoreError::PreconditionFailed`].
    async fn open(&self, key: &str, pin: &Pin) -> Result<Opened, StoreError> {
        let mut req = self.client.get_object().bucket(&self.bucket).key(key);
        if let Some(v) = &pin.version_id {
            req = req.version_id(v);
        } else if let Some(e) = &pin.etag {
            req = req.if_match(format!("\"{e}\""));
        }
        let resp = req.send().await.map_err(|e| map_err(self.loc(key), e))?;
        Ok(Opened {
            size: resp.content_length().unwrap_or(0).max(0) as u64,
            metadata: resp.metadata().cloned().unwrap_or_default(),
            // Read on a blocking thread; the bridge drives the async body from there.
            body: Box::new(tokio_util::io::SyncIoBridge::new(
                resp.body.into_async_read(),
            )),
        })
    }

    /// Writes an object from memory.
    async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| map_err(self.loc(key), e))?;
        Ok(())
    }

    fn spool(&self, key: &str) -> Result<NamedTempFile, StoreError> {
        NamedTempFile::new().map_err(|e| StoreError::Other {
            location: format!("a temporary file for {}", self.loc(key)),
            message: e.to_string(),
            retryable: false,
        })
    }

    /// Uploads the spooled file; it is removed when dropped, landed or not.
    async fn commit(
        &self,
        key: &str,
        file: NamedTempFile,
        content_type: &str,
    ) -> Result<(), StoreError> {
        self.put_file(key, file.path(), content_type).await
    }
}

impl S3Store {
    /// Writes an object from a local file: one streamed PUT up to [`MULTIPART_THRESHOLD`],
    /// a multipart upload above it (aborted on any failure, so no parts are left behind).
    async fn put_file(&self, key: &str, path: &Path, content_type: &str) -> Result<(), StoreError> {
        let size = tokio::fs::metadata(path)
            .await
            .map(|m| m.len())
            .map_err(|e| file_error(path, e))?;
        if size > self.multipart_threshold {
            return self.put_file_multipart(key, path, content_type, size).await;
        }
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| file_error(path, e))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| map_err(self.loc(key), e))?;
        Ok(())
    }

    async fn put_file_multipart(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
        size: u64,
    ) -> Result<(), StoreError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| map_err(self.loc(key), e))?;
        let upload_id = created.upload_id().unwrap_or_default().to_owned();
        // Incomplete uploads are billed until aborted: abort on failure, and also when this
        // future is dropped half-way (a record deadline), through the guard.
        let mut guard = AbortOnDrop {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            upload_id: Some(upload_id.clone()),
        };
        let result = self.upload_parts(key, path, size, &upload_id).await;
        guard.upload_id = None;
        if result.is_err() {
            if let Err(e) = abort_upload(&self.client, &self.bucket, key, &upload_id).await {
                tracing::warn!(bucket = %self.bucket, %key, error = %e, "aborting a failed multipart upload failed; the bucket's AbortIncompleteMultipartUpload rule removes it");
            }
        }
        result
    }

    async fn upload_parts(
        &self,
        key: &str,
        path: &Path,
        size: u64,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
        let mut parts = Vec::new();
        let mut offset = 0u64;
        let mut number = 1i32;
        while offset < size {
            let len = self.part_size.min(size - offset);
            let body = ByteStream::read_from()
                .path(path)
                .offset(offset)
                .length(aws_sdk_s3::primitives::Length::Exact(len))
                .build()
                .await
                .map_err(|e| StoreError::Other {
                    location: path.display().to_string(),
                    message: e.to_string(),
                    retryable: false,
                })?;
            let part = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(body)
                .send()
                .await
                .map_err(|e| map_err(self.loc(key), e))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(part.e_tag().map(str::to_owned))
                    .set_checksum_crc32(part.checksum_crc32().map(str::to_owned))
                    .build(),
            );
            offset += len;
            number += 1;
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| map_err(self.loc(key), e))?;
        Ok(())
    }
}

async fn abort_upload(
    client: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<(), String> {
    client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| DisplayErrorContext(&e).to_string())
}

/// Aborts a multipart upload whose future was dropped before it finished or failed.
struct AbortOnDrop {
    client: Client,
    bucket: String,
    key: String,
    upload_id: Option<String>,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let Some(upload_id) = self.upload_id.take() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (client, bucket, key) = (self.client.clone(), self.bucket.clone(), self.key.clone());
        rt.spawn(async move {
            if let Err(e) = abort_upload(&client, &bucket, &key, &upload_id).await {
                tracing::warn!(%bucket, %key, error = %e, "aborting an abandoned multipart upload failed");
            }
        });
    }
}

/// Outputs above this go up as a multipart upload.
pub const MULTIPART_THRESHOLD: u64 = 64 << 20;
/// Part size of multipart uploads (S3 allows 5 MiB to 5 GiB, at most 10,000 parts: 16 MiB
/// parts cover outputs up to 156 GiB).
pub const PART_SIZE: u64 = 16 << 20;
