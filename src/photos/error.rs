//! Why a photo was refused. Each variant maps to one stable code, one HTTP status and a message
//! in English and Chinese; the decoder's own wording stays in `Display` for the logs.

/// A photo that cannot be accepted. Nothing about it should be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("photo is empty or only {len} byte(s)")]
    Empty { len: usize },
    #[error("photo is {len} bytes, over the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("file is {found}, not a JPEG")]
    NotJpeg { found: &'static str },
    #[error("photo is HEIC/HEIF")]
    Heic,
    #[error("photo is {width}x{height} pixels, over the limit of {max}")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("unsupported JPEG variant: {what}")]
    Unsupported { what: String },
    #[error("photo data is truncated")]
    Truncated,
    #[error("photo data is corrupt: {reason}")]
    Corrupt { reason: String },
}

impl PhotoError {
    pub(crate) fn corrupt(reason: impl Into<String>) -> Self {
        Self::Corrupt {
            reason: reason.into(),
        }
    }

    /// Stable snake_case code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty { .. } => "photo_empty",
            Self::TooLarge { .. } => "photo_too_large",
            Self::NotJpeg { .. } => "photo_not_jpeg",
            Self::Heic => "photo_heic",
            Self::TooManyPixels { .. } => "photo_too_many_pixels",
            Self::Unsupported { .. } => "photo_unsupported_jpeg",
            Self::Truncated => "photo_truncated",
            Self::Corrupt { .. } => "photo_corrupt",
        }
    }

    /// 413 for size limits, 415 for the wrong format, 422 for damaged data.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } | Self::TooManyPixels { .. } => 413,
            Self::NotJpeg { .. } | Self::Heic | Self::Unsupported { .. } => 415,
            Self::Empty { .. } | Self::Truncated | Self::Corrupt { .. } => 422,
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            Self::Empty { .. } => "The photo file is empty. Upload the photo again.".into(),
            Self::TooLarge { len, max } => format!(
                "The photo is {} MB, over the limit of {} MB.",
                megabytes(*len as u64),
                megabytes(*max as u64)
            ),
            Self::NotJpeg { found } => format!(
                "The file is {found}, not a JPEG photo. Upload the JPEG taken by the phone camera."
            ),
            Self::Heic => "The photo is in HEIC/HEIF format, which is not accepted. \
                 Set the camera to JPEG and take the photo again."
                .into(),
            Self::TooManyPixels { width, height, max } => format!(
                "The photo is {width}×{height} pixels ({} MP), over the limit of {} MP.",
                megabytes(u64::from(*width) * u64::from(*height)),
                megabytes(*max)
            ),
            Self::Unsupported { .. } => "This kind of JPEG is not supported. \
                 Upload the photo as taken by the phone camera."
                .into(),
            Self::Truncated => "The photo file is incomplete (the upload may have been cut off). \
                 Upload it again."
                .into(),
            Self::Corrupt { .. } => "The photo file is damaged and cannot be read. \
                 Take or upload the photo again."
                .into(),
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            Self::Empty { .. } => "照片文件为空，请重新上传。".into(),
            Self::TooLarge { len, max } => format!(
                "照片大小为 {} MB，超过上限 {} MB。",
                megabytes(*len as u64),
                megabytes(*max as u64)
            ),
            Self::NotJpeg { found } => {
                format!("文件格式为 {found}，不是 JPEG 照片。请上传手机相机拍摄的 JPEG 照片。")
            }
            Self::Heic => {
                "照片为 HEIC/HEIF 格式，无法接收。请将相机设置为 JPEG 格式后重新拍摄。".into()
            }
            Self::TooManyPixels { width, height, max } => format!(
                "照片为 {width}×{height} 像素（{} 百万像素），超过上限 {} 百万像素。",
                megabytes(u64::from(*width) * u64::from(*height)),
                megabytes(*max)
            ),
            Self::Unsupported { .. } => {
                "不支持此种 JPEG 编码，请上传手机相机直接拍摄的照片。".into()
            }
            Self::Truncated => "照片文件不完整（上传可能中断），请重新上传。".into(),
            Self::Corrupt { .. } => "照片文件已损坏，无法读取，请重新拍摄或上传。".into(),
        }
    }
}

/// Millions with one decimal, for messages ("20.0 MB", "60.0 MP").
fn megabytes(n: u64) -> String {
    format!("{:.1}", n as f64 / 1_000_000.0)
}
