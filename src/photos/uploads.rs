//! Resumable photo upload: the tus 1.0 protocol (core, creation, checksum), content-addressed.
//!
//! The phone creates an upload naming the photo's SHA-256 (`Upload-Metadata: sha256 <base64 of
//! the hex digest>`), then PATCHes bytes from the offset the server reports; after a dropped
//! connection it asks (HEAD) and continues from there. Bytes go straight to a file, never into
//! memory beyond a 256 KiB write buffer. When the last byte arrives the digest is recomputed and the
//! photo is checked and analysed; only a good photo is stored (object storage + one row), and a
//! bad one leaves nothing behind. A photo already stored is a no-op success.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, head, options, patch, post, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use sha2::Digest;
use tokio::sync::SemaphorePermit;

use super::storage::Blobs;
use super::store::{self, NewPhoto, NewSignature, UploadRow};
use super::{Limits, PhotoError};
use crate::app::AppState;
use crate::audit::{self, Event};
use crate::auth::{Action, Caller};
use crate::error::{ApiError, ApiResult, ErrorKind};

pub const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,checksum";
const CHECKSUMS: &str = "sha1,sha256";

/// Uploads, storage and ingest settings shared by the handlers.
pub struct PhotoService {
    pub blobs: Blobs,
    pub uploads_dir: PathBuf,
    pub limits: Limits,
    /// Decoding is CPU- and memory-heavy: at most this many photos are analysed at once, so
    /// memory stays bounded however many uploads finish together.
    pub ingest_permits: tokio::sync::Semaphore,
    /// Uploads receiving a PATCH right now: a second concurrent PATCH would interleave bytes.
    busy: Mutex<HashSet<String>>,
}

impl PhotoService {
    pub fn new(
        blobs: Blobs,
        uploads_dir: PathBuf,
        limits: Limits,
        parallel_ingests: usize,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&uploads_dir)?;
        Ok(PhotoService {
            blobs,
            uploads_dir,
            limits,
            ingest_permits: tokio::sync::Semaphore::new(parallel_ingests.max(1)),
            busy: Mutex::new(HashSet::new()),
        })
    }

    fn partial_path(&self, id: &str) -> PathBuf {
        self.uploads_dir.join(format!("{id}.part"))
    }
}

/// Holds an upload's busy mark until dropped.
struct BusyGuard<'a> {
    service: &'a PhotoService,
    id: String,
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.service.busy.lock() {
            busy.remove(&self.id);
        }
    }
}

fn lock_upload<'a>(service: &'a PhotoService, id: &str) -> ApiResult<BusyGuard<'a>> {
    let mut busy = service.busy.lock().map_err(ApiError::internal)?;
    if !busy.insert(id.to_owned()) {
        return Err(ApiError::conflict(
            "upload_busy",
            "Another request is writing to this upload; retry after it finishes",
            "该上传正被另一请求写入，请稍后重试",
        ));
    }
    Ok(BusyGuard {
        service,
        id: id.to_owned(),
    })
}

pub fn photo_error(err: PhotoError) -> ApiError {
    let kind = match err.http_status() {
        413 => ErrorKind::PayloadTooLarge,
        415 => ErrorKind::UnsupportedMediaType,
        _ => ErrorKind::Unprocessable,
    };
    ApiError::new(kind, err.code(), err.message_en(), err.message_zh())
}

fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn require_tus(req: &HttpRequest) -> ApiResult<()> {
    if header_str(req, "Tus-Resumable") == Some(TUS_VERSION) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorKind::PreconditionFailed,
            "tus_version_unsupported",
            "Send Tus-Resumable: 1.0.0",
            "请使用 tus 1.0.0 协议（Tus-Resumable: 1.0.0）",
        ))
    }
}

fn bad_header(name: &str) -> ApiError {
    ApiError::bad_request(
        "upload_header_invalid",
        format!("Missing or invalid {name} header"),
        format!("请求头 {name} 缺失或无效"),
    )
}

/// One value of `Upload-Metadata` (tus: comma-separated `key base64(value)`).
fn metadata_value(req: &HttpRequest, wanted: &str) -> Option<String> {
    header_str(req, "Upload-Metadata")?
        .split(',')
        .filter_map(|pair| pair.trim().split_once(' '))
        .find(|(key, _)| *key == wanted)
        .and_then(|(_, value)| STANDARD.decode(value.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// The declared SHA-256 (`sha256`), lower-case hex.
fn declared_digest(req: &HttpRequest) -> ApiResult<String> {
    metadata_value(req, "sha256")
        .map(|digest| digest.to_ascii_lowercase())
        .filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| bad_header("Upload-Metadata (sha256)"))
}

/// What is uploaded (`kind`): a `photo` (the default) or a drawn `signature`.
fn declared_kind(req: &HttpRequest) -> ApiResult<&'static str> {
    match metadata_value(req, "kind").as_deref() {
        None | Some(PHOTO) => Ok(PHOTO),
        Some(SIGNATURE) => Ok(SIGNATURE),
        Some(_) => Err(bad_header("Upload-Metadata (kind: photo or signature)")),
    }
}

pub const PHOTO: &str = "photo";
pub const SIGNATURE: &str = "signature";

fn tus_response(status: StatusCode) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::build(status);
    response.insert_header(("Tus-Resumable", TUS_VERSION));
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

/// Bytes of an unfinished upload already on disk: the file is the truth after a crash.
async fn received_bytes(service: &PhotoService, upload: &UploadRow) -> i64 {
    if upload.completed_at.is_some() {
        return upload.length;
    }
    tokio::fs::metadata(service.partial_path(&upload.id))
        .await
        .map_or(0, |m| m.len() as i64)
}

/// The offset to tell a client. An upload whose bytes all arrived but which was never stored
/// (the server stopped between the last byte and the end of its ingest) is finished first:
/// told the whole length, a client considers the photo sent and never PATCHes again, and its
/// visit would wait for that photo forever. A refused photo answers its refusal.
async fn settled_offset(
    state: &web::Data<AppState>,
    caller: &Caller,
    upload: &UploadRow,
) -> ApiResult<i64> {
    let received = received_bytes(&state.photos, upload).await;
    if upload.completed_at.is_some() || received < upload.length {
        return Ok(received);
    }
    let _guard = lock_upload(&state.photos, &upload.id)?;
    finish(state, caller, upload).await?;
    Ok(upload.length)
}

/// What the server supports (tus discovery).
#[utoipa::path(
    options,
    path = "/api/v1/uploads",
    tag = "photos",
    responses((status = 204, description = "Tus-Version, Tus-Extension, Tus-Max-Size and Tus-Checksum-Algorithm headers"))
)]
#[options("/api/v1/uploads")]
pub async fn discover(state: web::Data<AppState>) -> HttpResponse {
    tus_response(StatusCode::NO_CONTENT)
        .insert_header(("Tus-Version", TUS_VERSION))
        .insert_header(("Tus-Extension", EXTENSIONS))
        .insert_header(("Tus-Max-Size", state.photos.limits.max_bytes.to_string()))
        .insert_header(("Tus-Checksum-Algorithm", CHECKSUMS))
        .finish()
}

/// Start (or resume) uploading one photo. Headers: `Tus-Resumable: 1.0.0`, `Upload-Length`,
/// `Upload-Metadata: sha256 <base64 of the lower-case hex SHA-256>`. Answers 201 with
/// `Location` and `Upload-Offset`; when the photo is already stored the offset equals the
/// length and there is nothing to send.
#[utoipa::path(
    post,
    path = "/api/v1/uploads",
    tag = "photos",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created or resumed: see Location and Upload-Offset"),
        (status = 412, description = "Tus-Resumable missing or not 1.0.0", body = crate::error::ErrorBody),
        (status = 413, description = "Upload-Length over the photo size limit", body = crate::error::ErrorBody),
    )
)]
#[post("/api/v1/uploads")]
pub async fn create_upload(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::UploadPhotos)?;
    require_tus(&req)?;
    let length: i64 = header_str(&req, "Upload-Length")
        .and_then(|v| v.parse().ok())
        .filter(|&n: &i64| n > 0)
        .ok_or_else(|| bad_header("Upload-Length"))?;
    let kind = declared_kind(&req)?;
    let max = match kind {
        SIGNATURE => super::signature::MAX_BYTES,
        _ => state.photos.limits.max_bytes,
    };
    if length as u64 > max as u64 {
        return Err(photo_error(PhotoError::TooLarge {
            len: length as usize,
            max,
        }));
    }
    let digest = declared_digest(&req)?;
    let user = caller.user_id.clone();
    let upload = state
        .db
        .write(move |conn| {
            let stored = store::stored(conn, kind, &digest)?;
            if !stored && let Some(open) = store::open_upload_for(conn, kind, &digest, &user)? {
                if open.length == length {
                    return Ok(open);
                }
                store::delete_upload(conn, &open.id)?;
            }
            let at = audit::store::now();
            let row = UploadRow {
                id: uuid::Uuid::now_v7().simple().to_string(),
                digest,
                length,
                received: if stored { length } else { 0 },
                created_by: user,
                created_at: at,
                updated_at: at,
                completed_at: stored.then_some(at),
                kind: kind.to_owned(),
            };
            store::insert_upload(conn, &row)?;
            Ok(row)
        })
        .await?;
    let offset = settled_offset(&state, &caller, &upload).await?;
    Ok(tus_response(StatusCode::CREATED)
        .insert_header((header::LOCATION, format!("/api/v1/uploads/{}", upload.id)))
        .insert_header(("Upload-Offset", offset.to_string()))
        .finish())
}

/// How much of an upload the server has (resume from `Upload-Offset`).
#[utoipa::path(
    head,
    path = "/api/v1/uploads/{id}",
    tag = "photos",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Upload-Offset and Upload-Length headers"),
        (status = 404, description = "No such upload of the caller's"),
    )
)]
#[head("/api/v1/uploads/{id}")]
pub async fn upload_offset(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::UploadPhotos)?;
    let id = id.into_inner();
    let user = caller.user_id.clone();
    let upload = state
        .db
        .run(move |conn| store::find_upload(conn, &id, &user))
        .await?
        .ok_or_else(|| ApiError::not_found("Upload", "该上传"))?;
    let offset = settled_offset(&state, &caller, &upload).await?;
    Ok(tus_response(StatusCode::OK)
        .insert_header(("Upload-Offset", offset.to_string()))
        .insert_header(("Upload-Length", upload.length.to_string()))
        .finish())
}

/// Incremental checksum of one PATCH body (tus checksum extension).
enum ChunkHasher {
    Sha1(sha1::Sha1, Vec<u8>),
    Sha256(sha2::Sha256, Vec<u8>),
}

impl ChunkHasher {
    fn from_header(value: &str) -> ApiResult<ChunkHasher> {
        let (algorithm, encoded) = value
            .trim()
            .split_once(' ')
            .ok_or_else(|| bad_header("Upload-Checksum"))?;
        let expected = STANDARD
            .decode(encoded.trim())
            .map_err(|_| bad_header("Upload-Checksum"))?;
        match algorithm {
            "sha1" => Ok(ChunkHasher::Sha1(sha1::Sha1::new(), expected)),
            "sha256" => Ok(ChunkHasher::Sha256(sha2::Sha256::new(), expected)),
            _ => Err(ApiError::bad_request(
                "checksum_algorithm_unsupported",
                format!("Supported checksum algorithms: {CHECKSUMS}"),
                format!("支持的校验算法：{CHECKSUMS}"),
            )),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            ChunkHasher::Sha1(h, _) => h.update(bytes),
            ChunkHasher::Sha256(h, _) => h.update(bytes),
        }
    }

    fn matches(self) -> bool {
        match self {
            ChunkHasher::Sha1(h, expected) => h.finalize().as_slice() == expected.as_slice(),
            ChunkHasher::Sha256(h, expected) => h.finalize().as_slice() == expected.as_slice(),
        }
    }
}

/// How many body bytes `append` gathers before writing them out.
const WRITE_BUFFER: usize = 256 * 1024;

fn io_error(e: std::io::Error) -> ApiError {
    // A full disk is for the operator to fix, not a fault in the request: the phone resumes
    // from the bytes the server kept once there is room.
    if e.kind() == std::io::ErrorKind::StorageFull {
        tracing::error!(error = %e, "upload file: the disk is full");
        return super::storage::storage_unavailable();
    }
    ApiError::internal(format!("upload file: {e}"))
}

/// Writes a full buffer from the blocking pool; hands back the file and the emptied buffer.
async fn write_out(
    mut file: std::fs::File,
    mut buffer: Vec<u8>,
) -> ApiResult<(std::fs::File, Vec<u8>)> {
    web::block(move || {
        file.write_all(&buffer)?;
        buffer.clear();
        Ok((file, buffer))
    })
    .await?
    .map_err(io_error)
}

/// Append bytes at `Upload-Offset` (`Content-Type: application/offset+octet-stream`,
/// optional `Upload-Checksum: sha1|sha256 <base64>`). The last PATCH stores the photo, or
/// answers why it was refused (and then nothing is kept).
#[utoipa::path(
    patch,
    path = "/api/v1/uploads/{id}",
    tag = "photos",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Accepted; Upload-Offset is the new offset"),
        (status = 404, description = "No such upload of the caller's", body = crate::error::ErrorBody),
        (status = 409, description = "Upload-Offset differs from the server's (HEAD and resume)", body = crate::error::ErrorBody),
        (status = 460, description = "Upload-Checksum mismatch; the chunk was discarded", body = crate::error::ErrorBody),
    )
)]
#[patch("/api/v1/uploads/{id}")]
pub async fn append(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    mut body: web::Payload,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::UploadPhotos)?;
    require_tus(&req)?;
    ApiError::require_content_type(&req, &["application/offset+octet-stream"])?;
    let offset: i64 = header_str(&req, "Upload-Offset")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad_header("Upload-Offset"))?;
    let mut checksum = header_str(&req, "Upload-Checksum")
        .map(ChunkHasher::from_header)
        .transpose()?;
    let id = id.into_inner();
    let service = &state.photos;
    let (lookup_id, user) = (id.clone(), caller.user_id.clone());
    let upload = state
        .db
        .run(move |conn| store::find_upload(conn, &lookup_id, &user))
        .await?
        .ok_or_else(|| ApiError::not_found("Upload", "该上传"))?;
    let _guard = lock_upload(service, &id)?;
    let current = received_bytes(service, &upload).await;
    if offset != current {
        return Err(ApiError::conflict(
            "upload_offset_mismatch",
            format!("The server has {current} bytes of this upload; continue from there"),
            format!("服务器已收到 {current} 字节，请从该位置继续上传"),
        )
        .with_details(serde_json::json!({ "upload_offset": current })));
    }
    if upload.completed_at.is_some() {
        return Ok(tus_response(StatusCode::NO_CONTENT)
            .insert_header(("Upload-Offset", current.to_string()))
            .finish());
    }

    let path = service.partial_path(&id);
    let mut file = web::block(move || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
    })
    .await?
    .map_err(io_error)?;
    // Network chunks are small (a few KiB to 64 KiB): gathered into one buffer, they reach the
    // disk in a blocking-pool hop per WRITE_BUFFER instead of one per chunk.
    let mut buffer = Vec::with_capacity(WRITE_BUFFER);
    let mut written = current;
    let mut refused = None;
    while let Some(chunk) = body.next().await {
        // The connection dropped or stalled (the body-idle timeout): keep what arrived, so
        // the phone resumes from the offset on disk.
        let Ok(chunk) = chunk else { break };
        if written + chunk.len() as i64 > upload.length {
            refused = Some(ApiError::new(
                ErrorKind::PayloadTooLarge,
                "upload_exceeds_length",
                "More bytes than the declared Upload-Length",
                "数据超过声明的 Upload-Length",
            ));
            break;
        }
        if let Some(hasher) = checksum.as_mut() {
            hasher.update(&chunk);
        }
        buffer.extend_from_slice(&chunk);
        written += chunk.len() as i64;
        if buffer.len() >= WRITE_BUFFER {
            (file, buffer) = write_out(file, buffer).await?;
        }
    }
    if refused.is_none() && checksum.is_some_and(|h| !h.matches()) {
        refused = Some(ApiError::new(
            ErrorKind::ChecksumMismatch,
            "checksum_mismatch",
            "The chunk does not match its Upload-Checksum; it was discarded, send it again",
            "数据块与 Upload-Checksum 不符，已丢弃，请重新发送",
        ));
    }
    // One last hop: the rest of the buffer and the sync, or, for a refused chunk, back to the
    // length the PATCH started from (what the buffer still holds was never written).
    let keep = refused.is_none();
    web::block(move || -> std::io::Result<()> {
        if keep {
            file.write_all(&buffer)?;
            file.sync_data()
        } else {
            file.set_len(current as u64)?;
            file.sync_data()
        }
    })
    .await?
    .map_err(io_error)?;
    if let Some(err) = refused {
        return Err(err);
    }

    if written == upload.length {
        // The photo's own transaction records that everything arrived.
        finish(&state, &caller, &upload).await?;
    } else {
        let (progress_id, at) = (id.clone(), audit::store::now());
        state
            .db
            .write(move |conn| store::set_received(conn, &progress_id, written, at))
            .await?;
    }
    Ok(tus_response(StatusCode::NO_CONTENT)
        .insert_header(("Upload-Offset", written.to_string()))
        .finish())
}

/// Verifies, analyses and stores a complete upload; on any refusal removes every trace of it.
async fn finish(state: &web::Data<AppState>, caller: &Caller, upload: &UploadRow) -> ApiResult<()> {
    let service = &state.photos;
    let path = service.partial_path(&upload.id);
    let outcome = ingest(state, caller, upload, &path).await;
    // A server-side failure (the database or storage unavailable) is no verdict on the photo:
    // keep the upload and its bytes, so the phone's retry finishes it (see `settled_offset`).
    // Dropping them answered the retry 404 and left the stored blobs without a row.
    if let Err(err) = &outcome
        && err.kind.status().is_server_error()
    {
        return outcome;
    }
    if outcome.is_err() {
        let id = upload.id.clone();
        state
            .db
            .write(move |conn| store::delete_upload(conn, &id))
            .await?;
    }
    // Stored or refused, the partial file has served its purpose.
    let _ = tokio::fs::remove_file(&path).await;
    outcome
}

async fn ingest(
    state: &web::Data<AppState>,
    caller: &Caller,
    upload: &UploadRow,
    path: &std::path::Path,
) -> ApiResult<()> {
    let permit = state
        .photos
        .ingest_permits
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let declared = upload.digest.clone();
    let file = path.to_owned();
    let bytes = web::block(move || -> ApiResult<_> {
        let bytes = read_uncached(&file).map_err(ApiError::internal)?;
        let actual = super::sha256_hex(&bytes);
        if actual != declared {
            return Err(ApiError::unprocessable(
                "digest_mismatch",
                "The received bytes do not have the declared SHA-256; nothing was stored",
                "收到的数据与声明的 SHA-256 不符，未保存",
            )
            .with_details(serde_json::json!({ "declared": declared, "received": actual })));
        }
        Ok(bytes)
    })
    .await??;
    match upload.kind.as_str() {
        SIGNATURE => store_signature(state, caller, upload, bytes, permit).await,
        _ => store_photo(state, caller, upload, path, bytes, permit).await,
    }
}

/// Reads a finished upload and leaves none of it in the page cache. The last PATCH synced it
/// to disk, and once analysed it is seldom read again (the console shows thumbnails). Kept
/// cached, photos crowd out the database's pages, and the next uploads wrote into pages the
/// kernel took afresh: on the 2-core VMs measured, that copy was 19% of all CPU under the
/// load generator, and 0.9% with the pages dropped.
fn read_uncached(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(file.metadata()?.len() as usize);
    file.read_to_end(&mut bytes)?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: advice on an open descriptor; it changes no memory of ours.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
    Ok(bytes)
}

async fn store_signature(
    state: &web::Data<AppState>,
    caller: &Caller,
    upload: &UploadRow,
    bytes: Vec<u8>,
    permit: SemaphorePermit<'_>,
) -> ApiResult<()> {
    let (bytes, (width, height)) = web::block(move || {
        let size = super::signature::check(&bytes)?;
        Ok::<_, ApiError>((bytes, size))
    })
    .await??;
    let row = NewSignature {
        digest: upload.digest.clone(),
        size_bytes: bytes.len() as i64,
        width: width as i32,
        height: height as i32,
        uploaded_by: caller.user_id.clone(),
        created_at: audit::store::now(),
    };
    state
        .photos
        .blobs
        .put("signatures", &row.digest, bytes)
        .await?;
    drop(permit);
    let (id, actor) = (upload.id.clone(), caller.actor());
    state
        .db
        .write(move |conn| {
            store::insert_signature(conn, &row)?;
            store::complete_upload(conn, &id, row.created_at)?;
            audit::store::append(
                conn,
                &actor,
                Event {
                    action: "signature.store",
                    target_type: "signature",
                    target_id: &row.digest,
                    summary: serde_json::json!({ "size": row.size_bytes, "width": row.width, "height": row.height }),
                },
            )
        })
        .await
}

async fn store_photo(
    state: &web::Data<AppState>,
    caller: &Caller,
    upload: &UploadRow,
    path: &std::path::Path,
    bytes: Vec<u8>,
    permit: SemaphorePermit<'_>,
) -> ApiResult<()> {
    let service = &state.photos;
    let limits = service.limits;
    let (bytes, inspected, analysis) = web::block(move || -> ApiResult<_> {
        let (inspected, analysis) =
            super::inspect_and_analyse(&bytes, &limits).map_err(photo_error)?;
        Ok((bytes, inspected, analysis))
    })
    .await??;
    let (width, height) = inspected.upright_size();
    let size = bytes.len() as i64;
    service
        .blobs
        .put("thumbs", &upload.digest, analysis.thumbnail.jpeg.clone())
        .await?;
    service
        .blobs
        .put_file("photos", &upload.digest, path, bytes)
        .await?;
    // The bytes are stored and gone: the database write needs no permit, and holding one
    // through the commit left a core idle while another photo waited.
    drop(permit);
    let photo = NewPhoto {
        digest: upload.digest.clone(),
        size_bytes: size,
        width: width as i32,
        height: height as i32,
        gps_lat: inspected.gps.map(|g| g.lat),
        gps_lon: inspected.gps.map(|g| g.lon),
        gps_alt: inspected.gps.and_then(|g| g.alt_m),
        gps_problem: inspected.gps_problem.map(|p| format!("{p:?}")),
        taken_at: inspected
            .captured
            .and_then(|c| c.utc)
            .map(|t| t.naive_utc()),
        taken_local: inspected.captured.map(|c| c.local),
        orientation: i32::from(inspected.orientation),
        make: inspected.make.clone(),
        model: inspected.model.clone(),
        dhash: analysis.dhash as i64,
        uploaded_by: caller.user_id.clone(),
        created_at: audit::store::now(),
        dhash_r90: Some(analysis.dhash_rotations[1] as i64),
        dhash_r180: Some(analysis.dhash_rotations[2] as i64),
        dhash_r270: Some(analysis.dhash_rotations[3] as i64),
    };
    let (id, actor) = (upload.id.clone(), caller.actor());
    state
        .db
        .write(move |conn| {
            store::insert_photo(conn, &photo)?;
            store::complete_upload(conn, &id, photo.created_at)?;
            audit::store::append(
                conn,
                &actor,
                Event {
                    action: "photo.store",
                    target_type: "photo",
                    target_id: &photo.digest,
                    summary: serde_json::json!({ "size": photo.size_bytes, "width": photo.width, "height": photo.height, "gps": photo.gps_lat.is_some() }),
                },
            )
        })
        .await
}

/// Whether a photo (by SHA-256) is already stored: one small request saves re-sending it.
#[utoipa::path(
    head,
    path = "/api/v1/photos/{digest}",
    tag = "photos",
    security(("bearer" = [])),
    params(("digest" = String, Path, description = "Lower-case hex SHA-256")),
    responses((status = 200, description = "Stored"), (status = 404, description = "Not stored"))
)]
#[head("/api/v1/photos/{digest}")]
pub async fn photo_stored(
    state: web::Data<AppState>,
    caller: Caller,
    digest: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.authorize_role(Action::UploadPhotos)?;
    let digest = digest.into_inner().to_ascii_lowercase();
    let exists = state
        .db
        .run(move |conn| store::photo_exists(conn, &digest))
        .await?;
    Ok(if exists {
        HttpResponse::Ok().finish()
    } else {
        HttpResponse::NotFound().finish()
    })
}

/// What a cleanup sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    /// Unfinished uploads nobody touched for the age given, with their partial files.
    pub uploads: usize,
    /// Partial files as old that no unfinished upload owns: a stop between an upload's end
    /// and its file's removal leaves one, as does an upload replaced by one of another length.
    pub orphan_files: usize,
}

/// Removes uploads nobody touched for `max_age` (abandoned on a phone) with their files, and
/// partial files as old that belong to no unfinished upload. Blocking: the server runs it on
/// the blocking pool, `dibao sweep-uploads` directly. Files go before rows, so a stop in
/// between leaves a row without a file (resumed from 0, or swept next time), never the reverse.
pub fn sweep_abandoned(
    db: &crate::db::Db,
    uploads_dir: &std::path::Path,
    max_age: chrono::Duration,
) -> ApiResult<Swept> {
    let partial = |id: &str| uploads_dir.join(format!("{id}.part"));
    let remove = |path: &std::path::Path| match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(e)),
        _ => Ok(()),
    };
    let mut conn = db.get()?;
    let mut swept = Swept::default();
    let before = audit::store::now() - max_age;
    for id in store::stale_uploads(&mut conn, before)? {
        remove(&partial(&id))?;
        crate::db::write_transaction(&mut conn, |conn| store::delete_upload(conn, &id))?;
        swept.uploads += 1;
    }
    let cutoff = std::time::SystemTime::now() - max_age.to_std().unwrap_or_default();
    let entries = match std::fs::read_dir(uploads_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(swept),
        other => other.map_err(io_error)?,
    };
    for entry in entries {
        let path = entry.map_err(io_error)?.path();
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".part"))
        else {
            continue;
        };
        let untouched = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified < cutoff);
        if untouched && !store::upload_unfinished(&mut conn, id)? {
            remove(&path)?;
            swept.orphan_files += 1;
        }
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_a_retryable_503_not_a_500() {
        let full = io_error(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert_eq!(
            (full.kind.status().as_u16(), &*full.code),
            (503, "storage_unavailable")
        );
        let other = io_error(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert_eq!(other.kind.status().as_u16(), 500);
    }
}
