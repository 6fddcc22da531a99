//! Resumable, content-addressed photo upload (tus 1.0 core + creation + checksum).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use dibao::photos::fixtures::{
    FixtureColor, FixtureGps, PhotoSpec, phone_jpeg, splice_exif, with_frame_size,
};
use dibao::photos::sha256_hex;
use reqwest::Method;
use sha2::Digest;

use crate::helpers::{Resp, TestApp, assert_error_body, spawn_app, spawn_app_with};

fn jpeg(scene: u64) -> Vec<u8> {
    phone_jpeg(&PhotoSpec {
        scene,
        ..PhotoSpec::default()
    })
}

pub async fn create(app: &TestApp, token: &str, digest: &str, length: usize) -> Resp {
    create_as(app, token, digest, length, "photo").await
}

/// Creates an upload of a `photo` or a drawn `signature`.
pub async fn create_as(
    app: &TestApp,
    token: &str,
    digest: &str,
    length: usize,
    kind: &str,
) -> Resp {
    let request = app
        .request(Method::POST, "/api/v1/uploads", token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header(
            "Upload-Metadata",
            format!(
                "sha256 {},kind {}",
                STANDARD.encode(digest),
                STANDARD.encode(kind)
            ),
        );
    app.send(request).await
}

pub async fn patch(
    app: &TestApp,
    token: &str,
    location: &str,
    offset: usize,
    bytes: &[u8],
    checksum: Option<String>,
) -> Resp {
    let mut request = app
        .request(Method::PATCH, location, token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .body(bytes.to_vec());
    if let Some(checksum) = checksum {
        request = request.header("Upload-Checksum", checksum);
    }
    app.send(request).await
}

async fn offset(app: &TestApp, token: &str, location: &str) -> usize {
    let resp = app
        .send(
            app.request(Method::HEAD, location, token)
                .header("Tus-Resumable", "1.0.0"),
        )
        .await;
    assert_eq!(resp.status, 200);
    resp.header("Upload-Offset")
        .expect("Upload-Offset")
        .parse()
        .expect("a number")
}

async fn stored(app: &TestApp, token: &str, digest: &str) -> bool {
    let resp = app
        .send(app.request(Method::HEAD, &format!("/api/v1/photos/{digest}"), token))
        .await;
    resp.status == 200
}

fn blob_count(app: &TestApp) -> usize {
    let dir = app.data_dir().join("blobs").join("photos");
    walk(&dir)
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                if e.path().is_dir() {
                    walk(&e.path())
                } else {
                    1
                }
            })
            .sum()
    })
}

#[tokio::test]
async fn a_photo_uploaded_in_pieces_resumes_from_the_server_offset_and_is_stored() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let photo = jpeg(11);
    let digest = sha256_hex(&photo);
    assert!(!stored(&app, &token, &digest).await);

    let created = create(&app, &token, &digest, photo.len()).await;
    created.expect(201);
    assert_eq!(created.header("Upload-Offset"), Some("0"));
    let location = created.header("Location").expect("Location").to_owned();

    // The first third arrives, then the connection "drops": the phone asks where to go on.
    let third = photo.len() / 3;
    patch(&app, &token, &location, 0, &photo[..third], None)
        .await
        .expect(204);
    assert_eq!(offset(&app, &token, &location).await, third);
    // A stale offset is refused with the server's offset, nothing appended.
    patch(&app, &token, &location, 0, &photo[..third], None)
        .await
        .expect_error(409, "upload_offset_mismatch");
    assert_eq!(offset(&app, &token, &location).await, third);

    let sha1 = format!(
        "sha1 {}",
        STANDARD.encode(sha1::Sha1::digest(&photo[third..]))
    );
    let done = patch(&app, &token, &location, third, &photo[third..], Some(sha1)).await;
    done.expect(204);
    assert_eq!(
        done.header("Upload-Offset"),
        Some(photo.len().to_string().as_str())
    );
    assert!(stored(&app, &token, &digest).await);
    assert_eq!(blob_count(&app), 1);
    // The finished partial file became the blob (a link on a local store): the bytes are
    // whole under the digest's name, and the partial's name is gone.
    let blob = app
        .data_dir()
        .join("blobs/photos")
        .join(&digest[..2])
        .join(format!("{digest}.jpg"));
    assert_eq!(std::fs::read(blob).unwrap(), photo);
    let partials = std::fs::read_dir(app.data_dir().join("uploads")).map_or(0, |e| e.count());
    assert_eq!(partials, 0);
}

/// Sends a PATCH head announcing all of `total` bytes, then only `sent`, and stalls; returns
/// the server's answer head (the body-idle timeout ends the body).
async fn stalled_patch(
    app: &TestApp,
    token: &str,
    location: &str,
    total: usize,
    sent: &[u8],
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.address().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: 0\r\nContent-Length: {total}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(sent).await.expect("body");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.expect("an answer");
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_patch_that_stalls_part_way_keeps_what_arrived_and_resumes_from_it() {
    let app = spawn_app_with(|settings| settings.body_idle_timeout = 1).await;
    let token = app.token("coord01").await;
    let photo = phone_jpeg(&PhotoSpec {
        scene: 13,
        width: 2400,
        height: 1800,
        ..PhotoSpec::default()
    });
    // More than one 256 KiB write buffer and a remainder, so both kinds of write are exercised.
    let sent = 256 * 1024 + 40_007;
    assert!(photo.len() > sent + 1000, "photo of {} bytes", photo.len());
    let digest = sha256_hex(&photo);
    let created = create(&app, &token, &digest, photo.len()).await;
    created.expect(201);
    let location = created.header("Location").expect("Location").to_owned();

    let answer = stalled_patch(&app, &token, &location, photo.len(), &photo[..sent]).await;
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains(&format!("upload-offset: {sent}\r\n")),
        "{answer}"
    );
    assert_eq!(offset(&app, &token, &location).await, sent);
    assert!(!stored(&app, &token, &digest).await);

    patch(&app, &token, &location, sent, &photo[sent..], None)
        .await
        .expect(204);
    assert!(stored(&app, &token, &digest).await);
}

#[tokio::test]
async fn uploading_a_stored_photo_again_is_a_no_op_success() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let photo = jpeg(12);
    let digest = sha256_hex(&photo);
    let location = create(&app, &token, &digest, photo.len())
        .await
        .header("Location")
        .unwrap()
        .to_owned();
    patch(&app, &token, &location, 0, &photo, None)
        .await
        .expect(204);

    let again = create(&app, &token, &digest, photo.len()).await;
    again.expect(201);
    assert_eq!(
        again.header("Upload-Offset"),
        Some(photo.len().to_string().as_str())
    );
    assert_eq!(blob_count(&app), 1);
}

#[tokio::test]
async fn bytes_that_do_not_match_the_declared_digest_are_refused_and_nothing_is_kept() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let photo = jpeg(13);
    let wrong = sha256_hex(b"something else");
    let location = create(&app, &token, &wrong, photo.len())
        .await
        .header("Location")
        .unwrap()
        .to_owned();
    patch(&app, &token, &location, 0, &photo, None)
        .await
        .expect_error(422, "digest_mismatch");
    assert!(!stored(&app, &token, &wrong).await);
    assert!(!stored(&app, &token, &sha256_hex(&photo)).await);
    assert_eq!(blob_count(&app), 0);
    // The upload is gone too.
    let resp = app
        .send(
            app.request(Method::HEAD, &location, &token)
                .header("Tus-Resumable", "1.0.0"),
        )
        .await;
    assert_eq!(resp.status, 404);
}

#[tokio::test]
async fn a_chunk_with_a_wrong_checksum_is_discarded_with_460() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let photo = jpeg(14);
    let digest = sha256_hex(&photo);
    let location = create(&app, &token, &digest, photo.len())
        .await
        .header("Location")
        .unwrap()
        .to_owned();
    let bad = format!(
        "sha256 {}",
        STANDARD.encode(sha2::Sha256::digest(b"not these bytes"))
    );
    patch(&app, &token, &location, 0, &photo[..1000], Some(bad))
        .await
        .expect_error(460, "checksum_mismatch");
    assert_eq!(offset(&app, &token, &location).await, 0);
}

#[tokio::test]
async fn bad_photos_are_refused_with_a_clear_error_and_leave_nothing_behind() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let good = jpeg(15);
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    png.extend_from_slice(&[0u8; 64]);
    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic");
    heic.extend_from_slice(&[0u8; 64]);
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            422,
            "photo_truncated",
        ),
        (
            "random bytes",
            (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect(),
            415,
            "photo_not_jpeg",
        ),
        ("png", png, 415, "photo_not_jpeg"),
        ("heic", heic, 415, "photo_heic"),
        (
            "a 64 MP header on a tiny body",
            with_frame_size(
                &phone_jpeg(&PhotoSpec {
                    width: 64,
                    height: 48,
                    ..PhotoSpec::default()
                }),
                8000,
                8000,
            ),
            413,
            "photo_too_many_pixels",
        ),
    ];
    for (name, bytes, status, code) in cases {
        let digest = sha256_hex(&bytes);
        let location = create(&app, &token, &digest, bytes.len())
            .await
            .header("Location")
            .unwrap()
            .to_owned();
        let resp = patch(&app, &token, &location, 0, &bytes, None).await;
        assert_eq!(
            (resp.status, resp.code()),
            (status, code),
            "{name}: {}",
            resp.text
        );
        assert!(!stored(&app, &token, &digest).await, "{name}");
    }
    // Over the size limit: refused at creation, before any byte is sent.
    let resp = create(&app, &token, &sha256_hex(b"x"), 20_000_001).await;
    resp.expect_error(413, "photo_too_large");
    assert_eq!(blob_count(&app), 0);
}

#[tokio::test]
async fn the_tus_protocol_is_discoverable_and_enforced() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let options = app
        .send(app.request(Method::OPTIONS, "/api/v1/uploads", ""))
        .await;
    assert_eq!(options.status, 204);
    assert_eq!(options.header("Tus-Version"), Some("1.0.0"));
    assert!(
        options
            .header("Tus-Extension")
            .unwrap_or("")
            .contains("creation")
    );
    // No Tus-Resumable header: 412.
    let resp = app
        .send(
            app.request(Method::POST, "/api/v1/uploads", &token)
                .header("Upload-Length", "10")
                .header(
                    "Upload-Metadata",
                    format!("sha256 {}", STANDARD.encode(sha256_hex(b"x"))),
                ),
        )
        .await;
    resp.expect_error(412, "tus_version_unsupported");
    // Without a token: 401. Someone else's upload: 404.
    let photo = jpeg(16);
    let digest = sha256_hex(&photo);
    let location = create(&app, &token, &digest, photo.len())
        .await
        .header("Location")
        .unwrap()
        .to_owned();
    assert_eq!(create(&app, "", &digest, photo.len()).await.status, 401);
    let other = app.token("coord02").await;
    let resp = patch(&app, &other, &location, 0, &photo, None).await;
    resp.expect_error(404, "not_found");
}

// ---- hostile images over HTTP (docs/security.md lists them) -------------------------------

/// Uploads `bytes` whole and returns the answer to the last PATCH.
async fn upload_whole(app: &TestApp, token: &str, bytes: &[u8]) -> Resp {
    let digest = sha256_hex(bytes);
    let created = create(app, token, &digest, bytes.len()).await;
    created.expect(201);
    let location = created.header("Location").expect("Location").to_owned();
    patch(app, token, &location, 0, bytes, None).await
}

/// A small photo without EXIF.
fn bare(width: u32, height: u32) -> Vec<u8> {
    phone_jpeg(&PhotoSpec {
        width,
        height,
        ..PhotoSpec::without_metadata()
    })
}

/// The first scan header's end: everything before it is a valid JPEG header.
fn scan_data_start(jpeg: &[u8]) -> usize {
    let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    sos + 2 + usize::from(u16::from_be_bytes([jpeg[sos + 2], jpeg[sos + 3]]))
}

/// What the service stored for a photo.
#[derive(Debug)]
struct StoredPhoto {
    width: i32,
    height: i32,
    orientation: i32,
    dhash: i64,
    gps_lat: Option<f64>,
    gps_problem: Option<String>,
}

fn stored_photo(app: &TestApp, digest: &str) -> StoredPhoto {
    use dibao::db::schema::photos;
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    let (width, height, orientation, dhash, gps_lat, gps_problem) = photos::table
        .filter(photos::digest.eq(digest))
        .select((
            photos::width,
            photos::height,
            photos::orientation,
            photos::dhash,
            photos::gps_lat,
            photos::gps_problem,
        ))
        .first::<(i32, i32, i32, i64, Option<f64>, Option<String>)>(&mut *app.conn())
        .expect("a stored photo");
    StoredPhoto {
        width,
        height,
        orientation,
        dhash,
        gps_lat,
        gps_problem,
    }
}

#[tokio::test]
async fn hostile_images_are_refused_with_a_stable_code_in_two_languages_and_nothing_kept() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let photo = bare(256, 192);
    let scan = scan_data_start(&photo);
    let mut png16 = Vec::new();
    image::DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(48, 32, |x, y| {
        image::Rgb([x as u16 * 1300, y as u16 * 2000, 40_000u16])
    }))
    .write_to(
        &mut std::io::Cursor::new(&mut png16),
        image::ImageFormat::Png,
    )
    .unwrap();
    let mut twelve_bit = bare(64, 48);
    let sof = twelve_bit
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .unwrap();
    (twelve_bit[sof + 1], twelve_bit[sof + 4]) = (0xC1, 12);
    // A progressive photo with its last scan repeated 2000 times: a CPU bomb if decoded.
    let progressive = phone_jpeg(&PhotoSpec {
        width: 128,
        height: 96,
        progressive: true,
        ..PhotoSpec::default()
    });
    let last_scan = progressive
        .windows(2)
        .rposition(|w| w == [0xFF, 0xDA])
        .unwrap();
    let eoi = progressive.len() - 2;
    let mut many_scans = progressive[..eoi].to_vec();
    for _ in 0..2000 {
        many_scans.extend_from_slice(&progressive[last_scan..eoi]);
    }
    many_scans.extend_from_slice(&[0xFF, 0xD9]);
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "7745×7745 (just under 60 MP) header in a small file",
            with_frame_size(&bare(64, 48), 7745, 7745),
            422,
            "photo_truncated",
        ),
        (
            "2000 extra progressive scans",
            many_scans,
            415,
            "photo_unsupported_jpeg",
        ),
        (
            "65535×65535 header in a small file",
            with_frame_size(&bare(64, 48), 65535, 65535),
            413,
            "photo_too_many_pixels",
        ),
        ("one byte", vec![0xFF], 422, "photo_empty"),
        (
            "a JPEG signature alone",
            vec![0xFF, 0xD8],
            415,
            "photo_not_jpeg",
        ),
        (
            "valid header, scan cut after ten bytes",
            photo[..scan + 10].to_vec(),
            422,
            "photo_truncated",
        ),
        (
            "valid header, scan cut at 90%",
            photo[..scan + (photo.len() - scan) * 9 / 10].to_vec(),
            422,
            "photo_truncated",
        ),
        ("16-bit PNG named .jpg", png16, 415, "photo_not_jpeg"),
        ("12-bit JPEG", twelve_bit, 415, "photo_unsupported_jpeg"),
    ];
    for (name, bytes, status, code) in cases {
        let resp = upload_whole(&app, &token, &bytes).await;
        assert_eq!(
            (resp.status, resp.code()),
            (status, code),
            "{name}: {}",
            resp.text
        );
        assert_error_body(&resp.json);
        assert!(!stored(&app, &token, &sha256_hex(&bytes)).await, "{name}");
    }
    // A 0-byte file cannot even be announced: tus needs a positive Upload-Length.
    create(&app, &token, &sha256_hex(b""), 0)
        .await
        .expect_error(400, "upload_header_invalid");
    assert_eq!(blob_count(&app), 0);
    let partials =
        std::fs::read_dir(app.data_dir().join("uploads")).map_or(0, |entries| entries.count());
    assert_eq!(partials, 0, "a refused upload left its partial file");
}

#[tokio::test]
async fn strange_but_readable_images_are_stored_upright_with_their_problems_noted() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let spec = |f: &dyn Fn(&mut PhotoSpec)| {
        let mut spec = PhotoSpec {
            width: 512,
            height: 320,
            ..PhotoSpec::default()
        };
        f(&mut spec);
        phone_jpeg(&spec)
    };

    // EXIF orientation 1-8: stored with its upright size and the upright picture's dHash.
    let mut upright = None;
    for orientation in 1..=8u16 {
        let bytes = spec(&|s| s.orientation = Some(orientation));
        upload_whole(&app, &token, &bytes).await.expect(204);
        let row = stored_photo(&app, &sha256_hex(&bytes));
        assert_eq!(
            (row.width, row.height, row.orientation),
            (512, 320, i32::from(orientation)),
            "orientation {orientation}"
        );
        let reference = *upright.get_or_insert(row.dhash);
        let d = (row.dhash ^ reference).count_ones();
        assert!(d <= 3, "orientation {orientation}: {d} bits from upright");
    }
    let upright = upright.unwrap();

    // CMYK (Adobe APP14) and grayscale: the same picture, the same hash within a few bits.
    for (name, color) in [
        ("CMYK", FixtureColor::Cmyk),
        ("grayscale", FixtureColor::Grayscale),
    ] {
        let bytes = spec(&|s| s.color = color);
        upload_whole(&app, &token, &bytes).await.expect(204);
        let row = stored_photo(&app, &sha256_hex(&bytes));
        let d = (row.dhash ^ upright).count_ones();
        assert!(d <= 3, "{name}: {d} bits from the colour photo");
    }

    // NaN GPS: stored without a position, the problem noted.
    let bytes = spec(&|s| {
        s.scene = 2;
        s.gps = Some(FixtureGps {
            lat: f64::NAN,
            lon: 113.45,
            alt_m: 20.0,
        });
    });
    upload_whole(&app, &token, &bytes).await.expect(204);
    let row = stored_photo(&app, &sha256_hex(&bytes));
    assert_eq!(row.gps_lat, None);
    assert_eq!(row.gps_problem.as_deref(), Some("NotFinite"));

    // IFD0 names itself as the next IFD (and the Exif sub-IFD leads back to IFD0): the loop is
    // cut, the orientation it holds still read.
    let mut looping = b"II*\0\x08\0\0\0".to_vec();
    looping.extend_from_slice(&2u16.to_le_bytes());
    for (tag, typ, value) in [(0x0112u16, 3u16, 6u32), (0x8769, 4, 8)] {
        looping.extend_from_slice(&tag.to_le_bytes());
        looping.extend_from_slice(&typ.to_le_bytes());
        looping.extend_from_slice(&1u32.to_le_bytes());
        looping.extend_from_slice(&value.to_le_bytes());
    }
    looping.extend_from_slice(&8u32.to_le_bytes());
    let bytes = splice_exif(&bare(320, 200), &looping);
    upload_whole(&app, &token, &bytes).await.expect(204);
    let row = stored_photo(&app, &sha256_hex(&bytes));
    assert!(matches!(row.orientation, 1 | 6), "{row:?}");
}

#[tokio::test]
async fn an_upload_whose_bytes_all_arrived_before_a_stop_is_stored_when_the_phone_asks_again() {
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let photo = jpeg(41);
    let digest = sha256_hex(&photo);
    let created = create(&app, &token, &digest, photo.len()).await;
    created.expect(201);
    let location = created.header("Location").expect("Location").to_owned();
    // Every byte reached the partial file, then the server was killed before storing the
    // photo: as a restarted server finds it.
    let id = location.rsplit('/').next().expect("upload id");
    std::fs::write(
        app.data_dir().join("uploads").join(format!("{id}.part")),
        &photo,
    )
    .expect("partial file");
    assert!(!stored(&app, &token, &digest).await);

    // Told the whole length, a tus client sends nothing more: it must then be true.
    assert_eq!(offset(&app, &token, &location).await, photo.len());
    assert!(stored(&app, &token, &digest).await, "HEAD stored the photo");
    assert_eq!(blob_count(&app), 1);
    // Creating it again (a phone that lost the upload's address) finds it stored.
    let again = create(&app, &token, &digest, photo.len()).await;
    again.expect(201);
    assert_eq!(
        again.header("Upload-Offset"),
        Some(photo.len().to_string().as_str())
    );

    // The same stop before a refused photo: the refusal is the answer, nothing is kept.
    let mut bad = jpeg(42);
    bad.truncate(bad.len() / 2);
    let bad_digest = sha256_hex(&bad);
    let created = create(&app, &token, &bad_digest, bad.len()).await;
    created.expect(201);
    let location = created.header("Location").expect("Location").to_owned();
    let id = location.rsplit('/').next().expect("upload id");
    std::fs::write(
        app.data_dir().join("uploads").join(format!("{id}.part")),
        &bad,
    )
    .expect("partial file");
    let resp = app
        .send(
            app.request(Method::HEAD, &location, &token)
                .header("Tus-Resumable", "1.0.0"),
        )
        .await;
    assert_eq!(resp.status, 422, "{}", resp.text);
    assert!(!stored(&app, &token, &bad_digest).await);
    let partials = std::fs::read_dir(app.data_dir().join("uploads")).map_or(0, |e| e.count());
    assert_eq!(partials, 0, "a refused upload left its partial file");
}

#[tokio::test]
async fn the_sweep_removes_abandoned_uploads_and_orphan_partial_files_but_not_uploads_in_progress()
{
    let app = spawn_app().await;
    let token = app.token("coord01").await;
    let uploads = app.data_dir().join("uploads");
    // In progress: a third of a photo arrived just now.
    let photo = jpeg(43);
    let created = create(&app, &token, &sha256_hex(&photo), photo.len()).await;
    created.expect(201);
    let in_progress = created.header("Location").expect("Location").to_owned();
    patch(
        &app,
        &token,
        &in_progress,
        0,
        &photo[..photo.len() / 3],
        None,
    )
    .await
    .expect(204);
    // A stored photo whose partial file a stop kept, and a file no upload owns, both old.
    let done = jpeg(44);
    upload_whole(&app, &token, &done).await.expect(204);
    let done_id = {
        let created = create(&app, &token, &sha256_hex(&done), done.len()).await;
        created.expect(201);
        created
            .header("Location")
            .expect("Location")
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    for name in [format!("{done_id}.part"), "0190aaaa.part".to_owned()] {
        let file = std::fs::File::create(uploads.join(&name)).expect("orphan file");
        file.set_modified(two_days_ago).expect("mtime");
    }
    let sweep = |hours: i64| {
        let (db, dir) = (app.db.clone(), uploads.clone());
        tokio::task::spawn_blocking(move || {
            dibao::photos::uploads::sweep_abandoned(&db, &dir, chrono::Duration::hours(hours))
                .expect("sweep")
        })
    };
    let swept = sweep(24).await.unwrap();
    assert_eq!((swept.uploads, swept.orphan_files), (0, 2));
    assert_eq!(offset(&app, &token, &in_progress).await, photo.len() / 3);
    assert!(stored(&app, &token, &sha256_hex(&done)).await);

    // Abandoned once older than the age given: the row and its file go.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let swept = sweep(0).await.unwrap();
    assert_eq!((swept.uploads, swept.orphan_files), (1, 0));
    let gone = app
        .send(
            app.request(Method::HEAD, &in_progress, &token)
                .header("Tus-Resumable", "1.0.0"),
        )
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(std::fs::read_dir(&uploads).map_or(0, |e| e.count()), 0);
}
