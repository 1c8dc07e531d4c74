//! The dense flow field type and its `.flo` file format.

use std::io::{self, Read, Write};

use crate::error::{check_len, FlowError};

/// A dense flow field from frame A to frame B: pixel `(x, y)` of A
/// corresponds to `(x + u, y + v)` in B. Row-major, `width * height`
/// values per component, in pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Horizontal component (positive: rightwards).
    pub u: Vec<f32>,
    /// Vertical component (positive: downwards).
    pub v: Vec<f32>,
}

/// `"PIEH"` read as a little-endian `f32`: the `.flo` magic number.
const FLO_MAGIC: f32 = 202_021.25;

impl Flow {
    /// A zero flow.
    pub fn zeros(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            u: vec![0.0; width * height],
            v: vec![0.0; width * height],
        }
    }

    /// A flow from its components (checked against the size).
    ///
    /// # Errors
    /// As [`Flow::check`].
    pub fn new(width: usize, height: usize, u: Vec<f32>, v: Vec<f32>) -> Result<Self, FlowError> {
        let flow = Self {
            width,
            height,
            u,
            v,
        };
        flow.check()?;
        Ok(flow)
    }

    /// `Ok` when both components hold `width * height` values (the fields
    /// are public, so a flow can be built inconsistent).
    ///
    /// # Errors
    /// [`FlowError::BufferLength`] when `u` or `v` does not hold
    /// `width * height` values; [`FlowError::InvalidParams`] when
    /// `width * height` overflows.
    pub fn check(&self) -> Result<(), FlowError> {
        check_len(self.u.len(), self.width, self.height, 1)?;
        check_len(self.v.len(), self.width, self.height, 1)
    }

    /// Mean end-point error `|w - w_other|` over all pixels.
    ///
    /// # Errors
    /// As [`Flow::check`] for either flow; [`FlowError::SizeMismatch`] when
    /// the flows differ in size.
    pub fn epe(&self, other: &Flow) -> Result<f32, FlowError> {
        self.check()?;
        other.check()?;
        same_size(self, other)?;
        let n = self.u.len().max(1);
        let sum: f64 = self
            .u
            .iter()
            .zip(&self.v)
            .zip(other.u.iter().zip(&other.v))
            .map(|((a, b), (c, d))| f64::from(((a - c) * (a - c) + (b - d) * (b - d)).sqrt()))
            .sum();
        Ok((sum / n as f64) as f32)
    }

    /// Reads a Middlebury `.flo` file: `"PIEH"`, `i32` width and height
    /// (little-endian), then `f32` `u, v` pairs, row-major.
    ///
    /// # Errors
    /// The reader's errors ([`io::ErrorKind::UnexpectedEof`] for a file cut
    /// short); [`io::ErrorKind::InvalidData`] when the magic number is not
    /// `"PIEH"` or the dimensions are negative or above 2^28 pixels.
    pub fn read_flo(mut r: impl Read) -> io::Result<Flow> {
        let mut head = [0u8; 12];
        r.read_exact(&mut head)?;
        let word = |k: usize| [head[k], head[k + 1], head[k + 2], head[k + 3]];
        let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
        if f32::from_le_bytes(word(0)) != FLO_MAGIC {
            return Err(bad("not a .flo file"));
        }
        let width = i32::from_le_bytes(word(4));
        let height = i32::from_le_bytes(word(8));
        let (width, height) = match (usize::try_from(width), usize::try_from(height)) {
            (Ok(w), Ok(h)) if w.checked_mul(h).is_some_and(|n| n <= 1 << 28) => (w, h),
            _ => return Err(bad("bad .flo dimensions")),
        };
        // Grown as the data arrives: a damaged header claiming 2^28 pixels
        // over a short file allocates no more than the file holds.
        let len = width * height * 8;
        let mut bytes = Vec::new();
        r.take(len as u64).read_to_end(&mut bytes)?;
        if bytes.len() < len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(".flo data ends after {} of {len} bytes", bytes.len()),
            ));
        }
        let mut u = Vec::with_capacity(width * height);
        let mut v = Vec::with_capacity(width * height);
        for p in bytes.chunks_exact(8) {
            u.push(f32::from_le_bytes([p[0], p[1], p[2], p[3]]));
            v.push(f32::from_le_bytes([p[4], p[5], p[6], p[7]]));
        }
        Ok(Flow {
            width,
            height,
            u,
            v,
        })
    }

    /// Writes the flow as a Middlebury `.flo` file (see [`Flow::read_flo`]).
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] when the flow is inconsistent with its
    /// size ([`Flow::check`]) or a side is above `i32::MAX`; the writer's
    /// errors.
    pub fn write_flo(&self, mut w: impl Write) -> io::Result<()> {
        self.check()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let dim = |n: usize| {
            i32::try_from(n)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "flow too large"))
        };
        let mut bytes = Vec::with_capacity(12 + 8 * self.u.len());
        bytes.extend_from_slice(&FLO_MAGIC.to_le_bytes());
        bytes.extend_from_slice(&dim(self.width)?.to_le_bytes());
        bytes.extend_from_slice(&dim(self.height)?.to_le_bytes());
        for (u, v) in self.u.iter().zip(&self.v) {
            bytes.extend_from_slice(&u.to_le_bytes());
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        w.write_all(&bytes)
    }
}

/// `Ok` when both flows have the same size.
pub(crate) fn same_size(a: &Flow, b: &Flow) -> Result<(), FlowError> {
    if (a.width, a.height) == (b.width, b.height) {
        Ok(())
    } else {
        Err(FlowError::SizeMismatch {
            a_width: a.width,
            a_height: a.height,
            b_width: b.width,
            b_height: b.height,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flo_round_trip() {
        let f = Flow::new(3, 2, vec![0.5, -1.0, 2.0, 3.0, 4.0, 5.0], vec![1.0; 6]).unwrap();
        let mut buf = Vec::new();
        f.write_flo(&mut buf).unwrap();
        assert_eq!(&buf[..4], b"PIEH");
        assert_eq!(Flow::read_flo(&buf[..]).unwrap(), f);
        let short = Flow::read_flo(&buf[..20]).unwrap_err();
        assert_eq!(short.kind(), std::io::ErrorKind::UnexpectedEof, "{short}");
        // A header claiming 16384x16384 over 4 bytes of data: an error, with
        // no 2 GiB buffer made first.
        let mut bomb = buf[..4].to_vec();
        bomb.extend_from_slice(&16384i32.to_le_bytes());
        bomb.extend_from_slice(&16384i32.to_le_bytes());
        bomb.extend_from_slice(&[0; 4]);
        let e = Flow::read_flo(&bomb[..]).unwrap_err();
        assert!(e.to_string().contains("4 of 2147483648 bytes"), "{e}");
        assert!(Flow::read_flo(&b"nope nope nope"[..]).is_err());
    }

    #[test]
    fn epe_of_a_constant_offset() {
        let a = Flow::zeros(4, 4);
        let mut b = Flow::zeros(4, 4);
        b.u.fill(3.0);
        b.v.fill(4.0);
        assert!((a.epe(&b).unwrap() - 5.0).abs() < 1e-6);
        assert!(a.epe(&Flow::zeros(4, 5)).is_err());
    }
}
