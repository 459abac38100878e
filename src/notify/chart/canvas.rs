//! The drawing surface under every chart: an in-memory RGB bitmap in pixel coordinates, the
//! bundled font, and the PNG encoder. Knows nothing about markets; never touches files or fonts
//! installed on the machine.

use std::io::Write;
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, Glyph, PxScale, ScaleFont, point};
use flate2::Compression;
use flate2::write::ZlibEncoder;
use plotters::backend::BitMapBackend;
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, IntoDrawingArea};
use plotters::element::{PathElement, Rectangle};
use plotters::style::{RGBAColor, ShapeStyle};

use super::ChartError;

/// DejaVu Sans 2.37, embedded so servers need no fonts (licence beside it in `assets/fonts/`).
static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
/// The parsed bundled font, shared by every render in the process.
fn bundled_font() -> Result<&'static FontRef<'static>, ChartError> {
    static PARSED: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    PARSED
        .get_or_init(|| FontRef::try_from_slice(FONT).ok())
        .as_ref()
        .ok_or_else(|| ChartError::Draw("the bundled font failed to load".into()))
}

fn draw_err(error: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(error.to_string())
}

/// An opaque colour.
pub(crate) const fn rgb(r: u8, g: u8, b: u8) -> RGBAColor {
    RGBAColor(r, g, b, 1.0)
}

/// A colour with opacity `a` in 0..=1.
pub(crate) const fn rgba(r: u8, g: u8, b: u8, a: f64) -> RGBAColor {
    RGBAColor(r, g, b, a)
}

/// Which end of a text sits at its anchor point; text is always centred vertically on it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Align {
    Left,
    Right,
    Center,
}

/// Pixel-space drawing on a borrowed RGB buffer. `scale` grows type and strokes with the image.
pub(crate) struct Canvas<'a> {
    area: DrawingArea<BitMapBackend<'a>, Shift>,
    pub(super) scale: f64,
    font: &'static FontRef<'static>,
    /// Capital-letter height as a share of the pixel size, for centring text on a line.
    cap_height: f32,
}

impl<'a> Canvas<'a> {
    /// A canvas over `buf` (exactly `width * height * 3` bytes), filled with `background`.
    pub(crate) fn new(
        buf: &'a mut [u8],
        (width, height): (u32, u32),
        background: RGBAColor,
        scale: f64,
    ) -> Result<Self, ChartError> {
        let font = bundled_font()?;
        let height_units = font.ascent_unscaled() - font.descent_unscaled();
        let cap_units = font
            .outline(font.glyph_id('H'))
            .map_or(0.7 * height_units, |o| o.bounds.height().abs()); // bounds run top-down
        let area = BitMapBackend::with_buffer(buf, (width, height)).into_drawing_area();
        area.fill(&background).map_err(draw_err)?;
        Ok(Canvas {
            area,
            scale,
            font,
            cap_height: cap_units / height_units,
        })
    }

    /// `v` design pixels at this canvas's scale.
    pub(super) fn px(&self, v: f64) -> i32 {
        (v * self.scale).round() as i32
    }

    /// Fills the rectangle spanning both corners, inclusive (the backend's far edge is exclusive).
    pub(crate) fn fill(
        &self,
        a: (i32, i32),
        b: (i32, i32),
        color: RGBAColor,
    ) -> Result<(), ChartError> {
        let style = ShapeStyle {
            color,
            filled: true,
            stroke_width: 1,
        };
        let corners = [
            (a.0.min(b.0), a.1.min(b.1)),
            (a.0.max(b.0) + 1, a.1.max(b.1) + 1),
        ];
        self.area
            .draw(&Rectangle::new(corners, style))
            .map_err(draw_err)
    }

    /// Outlines the rectangle spanning both corners.
    pub(crate) fn frame(
        &self,
        a: (i32, i32),
        b: (i32, i32),
        color: RGBAColor,
    ) -> Result<(), ChartError> {
        let style = ShapeStyle {
            color,
            filled: false,
            stroke_width: 1,
        };
        self.area
            .draw(&Rectangle::new([a, b], style))
            .map_err(draw_err)
    }

    /// A polyline `width` pixels wide.
    pub(crate) fn line(
        &self,
        points: Vec<(i32, i32)>,
        color: RGBAColor,
        width: u32,
    ) -> Result<(), ChartError> {
        let style = ShapeStyle {
            color,
            filled: false,
            stroke_width: width.max(1),
        };
        self.area
            .draw(&PathElement::new(points, style))
            .map_err(draw_err)
    }

    /// A horizontal line from `x0` to `x1` at `y`, dashed when `dash > 0` (dash and gap equal).
    pub(super) fn hline(
        &self,
        x0: i32,
        x1: i32,
        y: i32,
        color: RGBAColor,
        dash: i32,
    ) -> Result<(), ChartError> {
        if dash <= 0 {
            return self.fill((x0, y), (x1, y), color);
        }
        let mut x = x0;
        while x <= x1 {
            self.fill((x, y), ((x + dash - 1).min(x1), y), color)?;
            x += 2 * dash;
        }
        Ok(())
    }

    /// The glyphs of `text` at `px` pixels with the pen starting at 0, and the advance width.
    fn layout(&self, text: &str, px: f32) -> (Vec<Glyph>, f32) {
        let font = self.font.as_scaled(PxScale::from(px));
        let (mut pen, mut previous) = (0.0, None);
        let mut glyphs = Vec::with_capacity(text.len());
        for ch in text.chars() {
            let id = font.glyph_id(ch);
            if let Some(p) = previous {
                pen += font.kern(p, id);
            }
            glyphs.push(id.with_scale_and_position(px, point(pen, 0.0)));
            pen += font.h_advance(id);
            previous = Some(id);
        }
        (glyphs, pen)
    }

    /// Draws `text` at design size `size` with its `anchor` point at `at`, anti-aliased.
    /// A chart's footer: `note` from `left` and the "liqwave" mark ending at `right`, on one
    /// baseline, small and muted.
    pub(crate) fn footer(
        &self,
        note: &str,
        left: i32,
        right: i32,
        baseline: i32,
    ) -> Result<(), ChartError> {
        self.text(note, (left, baseline), 12.0, super::MUTED, Align::Left)?;
        self.text(
            "liqwave",
            (right, baseline),
            12.0,
            super::MUTED,
            Align::Right,
        )
    }

    pub(crate) fn text(
        &self,
        text: &str,
        at: (i32, i32),
        size: f64,
        color: RGBAColor,
        anchor: Align,
    ) -> Result<(), ChartError> {
        let px = (size * self.scale) as f32;
        let (glyphs, width) = self.layout(text, px);
        let (x, y) = (at.0 as f32, at.1 as f32);
        let left = match anchor {
            Align::Left => x,
            Align::Right => x - width,
            Align::Center => x - width / 2.0,
        };
        let cap = px * self.cap_height;
        let baseline = y + (cap / 2.0).round();
        let mut coverage = Vec::new();
        for mut glyph in glyphs {
            glyph.position = point(glyph.position.x + left, baseline);
            if let Some(outline) = self.font.outline_glyph(glyph) {
                let b = outline.px_bounds();
                let (ox, oy) = (b.min.x as i32, b.min.y as i32);
                outline.draw(|gx, gy, c| coverage.push((ox + gx as i32, oy + gy as i32, c)));
            }
        }
        for (gx, gy, c) in coverage {
            let alpha = color.3 * f64::from(c.min(1.0));
            let ink = RGBAColor(color.0, color.1, color.2, alpha);
            self.area.draw_pixel((gx, gy), &ink).map_err(draw_err)?;
        }
        Ok(())
    }

    /// Width in pixels of `text` at design size `size`.
    pub(crate) fn text_width(&self, text: &str, size: f64) -> i32 {
        self.layout(text, (size * self.scale) as f32).1.ceil() as i32
    }

    /// Text on a filled box with `pad` pixels around it; returns the box's right edge.
    pub(super) fn tag(
        &self,
        text: &str,
        at: (i32, i32),
        size: f64,
        colors: (RGBAColor, RGBAColor),
        anchor: Align,
    ) -> Result<i32, ChartError> {
        let (fg, bg) = colors;
        let w = self.text_width(text, size);
        let (pad, half) = (self.px(4.0), self.px(size * 0.62));
        let x0 = match anchor {
            Align::Right => at.0 - w - 2 * pad,
            Align::Center => at.0 - w / 2 - pad,
            _ => at.0,
        };
        self.fill((x0, at.1 - half), (x0 + w + 2 * pad, at.1 + half), bg)?;
        self.text(text, (x0 + pad, at.1), size, fg, Align::Left)?;
        Ok(x0 + w + 2 * pad)
    }

    /// Flushes pending drawing into the buffer.
    pub(crate) fn finish(self) -> Result<(), ChartError> {
        self.area.present().map_err(draw_err)
    }
}

/// Encodes a packed 8-bit RGB buffer as PNG: signature, IHDR, one zlib IDAT, IEND.
/// Every row uses the "Up" filter, which suits charts (long vertical runs of equal colour).
pub(crate) fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let stride = width as usize * 3;
    if rgb.len() != stride * height as usize {
        return Err(ChartError::Draw(
            "pixel buffer does not match the image size".into(),
        ));
    }
    let mut z = ZlibEncoder::new(Vec::with_capacity(rgb.len() / 16), Compression::new(6));
    let mut filtered = vec![0u8; stride + 1];
    let zeros = vec![0u8; stride];
    let mut previous = zeros.as_slice();
    for row in rgb.chunks_exact(stride) {
        filtered[0] = 2; // Up: each byte minus the byte above it.
        for ((out, &cur), &up) in filtered[1..].iter_mut().zip(row).zip(previous) {
            *out = cur.wrapping_sub(up);
        }
        z.write_all(&filtered)?;
        previous = row;
    }
    let idat = z.finish()?;
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), deflate, filter method 0, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = Vec::with_capacity(idat.len() + 64);
    png.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    Ok(png)
}

/// Appends one PNG chunk: length, type, data, CRC-32 of type and data.
fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(&png[start..]);
    png.extend_from_slice(&crc.sum().to_be_bytes());
}
