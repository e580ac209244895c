//! Input images and the resolutions the network runs at.

use std::fmt;

use crate::error::{Error, Result};

/// Largest accepted image side; larger frames should be downscaled by the camera pipeline.
pub const MAX_IMAGE_SIDE: u32 = 8192;

/// A borrowed RGBA8 image, row-major, 4 bytes per pixel, no row padding.
#[derive(Debug, Clone, Copy)]
pub struct RgbaImage<'a> {
    width: u32,
    height: u32,
    data: &'a [u8],
}

impl<'a> RgbaImage<'a> {
    /// Wraps pixel data after checking its size.
    ///
    /// # Errors
    /// [`Error::InvalidImage`] for a zero side, a side over [`MAX_IMAGE_SIDE`],
    /// or a buffer whose length is not `width * height * 4`.
    pub fn new(width: u32, height: u32, data: &'a [u8]) -> Result<Self> {
        let reject = |reason: String| {
            Err(Error::InvalidImage {
                width,
                height,
                reason,
            })
        };
        if width == 0 || height == 0 {
            return reject("zero-sized image".into());
        }
        if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
            return reject(format!(
                "a side exceeds the maximum of {MAX_IMAGE_SIDE} pixels"
            ));
        }
        let expected = width as usize * height as usize * 4;
        if data.len() != expected {
            return reject(format!(
                "buffer holds {} bytes, RGBA8 needs {expected}",
                data.len()
            ));
        }
        Ok(RgbaImage {
            width,
            height,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The RGBA bytes.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The `(r, g, b)` values of pixel `(x, y)` as f32 in 0..=255.
    pub fn rgb(&self, x: u32, y: u32) -> [f32; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 4;
        [
            self.data[i] as f32,
            self.data[i + 1] as f32,
            self.data[i + 2] as f32,
        ]
    }
}

/// A square input side length the network runs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resolution(pub u32);

impl Resolution {
    /// The five resolutions of the paper's multi-resolution experiment.
    pub const STANDARD: [Resolution; 5] = [
        Resolution(224),
        Resolution(192),
        Resolution(160),
        Resolution(128),
        Resolution(96),
    ];

    /// Side length in pixels.
    pub fn side(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
