//! The eighth-scale picture of a Huffman-coded JPEG (sequential or progressive) from its DC
//! coefficients alone. At 1/8 scale each 8×8 block becomes one pixel, its DC value, so the
//! AC coefficients only have to be stepped over, not decoded into blocks: the entropy decode is
//! the whole cost of a scaled decode, and stepping over is what makes this path faster than
//! jpeg-decoder's (which decodes every coefficient, keeps all of them for a progressive file,
//! and hands rows to a thread per component). A progressive file's AC scans are stepped over
//! too, with one bit per coefficient to know which ones their refinement passes correct.
//!
//! The path is narrow on purpose: anything it does not fully understand (four-component or
//! RGB-coded files, a corrupt or cut-short scan, a missing EOI) gives `None`, and the caller
//! decodes with jpeg-decoder, which also decides how a bad file is refused. So this path never
//! refuses a file by itself, and never accepts one with a scan that does not decode completely.

use std::cell::OnceCell;

use super::ingest::MAX_SCANS;
use super::pixels::Raster;

/// Bits looked up at once when decoding a Huffman code; longer codes take the slow path.
const LOOKAHEAD: u32 = 9;

/// Bits looked up at once when stepping over a sequential block's AC codes: usually room for
/// two or three codes with their coefficient bits.
const SKIP_BITS: u32 = 14;

/// The 1/8-scale raster (RGB, or luma for one component) of a JPEG, or `None` to leave the file
/// to jpeg-decoder.
pub(crate) fn decode_eighth(bytes: &[u8]) -> Option<Raster> {
    let mut file = File::default();
    let mut pos = 2;
    loop {
        let (marker, segment, next) = next_segment(bytes, pos)?;
        pos = next;
        match marker {
            0xD9 => return file.raster(),
            0xC0..=0xC2 if file.frame.is_none() => {
                file.frame = Some(Frame::parse(segment, marker)?)
            }
            // A second frame; lossless, hierarchical or arithmetic-coded.
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => return None,
            0xC4 => file.huffman_tables(segment)?,
            0xEE if segment.starts_with(b"Adobe") => {
                file.adobe_transform = segment.get(11).copied()
            }
            // Other application data and comments are skipped; any other marker is left to
            // jpeg-decoder.
            0xE0..=0xEF | 0xFE => {}
            0xDB => file.quant_tables(segment)?,
            0xDD => file.restart_interval = u16::from_be_bytes(segment.get(..2)?.try_into().ok()?),
            0xDA => {
                file.scans += 1;
                if file.scans > MAX_SCANS {
                    return None;
                }
                pos = file.scan(segment, bytes, pos)?;
            }
            _ => return None,
        }
    }
}

/// The next marker segment from `pos`: (marker, its payload, where the next one starts). Markers
/// without a payload (EOI, stray RSTn) come with an empty one.
fn next_segment(bytes: &[u8], mut pos: usize) -> Option<(u8, &[u8], usize)> {
    while *bytes.get(pos)? != 0xFF {
        pos += 1;
    }
    while *bytes.get(pos)? == 0xFF {
        pos += 1;
    }
    let marker = *bytes.get(pos)?;
    pos += 1;
    if matches!(marker, 0x01 | 0xD0..=0xD9) {
        return Some((marker, &[], pos));
    }
    let len = usize::from(u16::from_be_bytes(
        bytes.get(pos..pos + 2)?.try_into().ok()?,
    ));
    let segment = bytes.get(pos + 2..pos + len.max(2))?;
    Some((marker, segment, pos + len.max(2)))
}

#[derive(Default)]
struct File {
    frame: Option<Frame>,
    /// The DC entry of each quantization table.
    quant_dc: [Option<i32>; 4],
    dc_tables: [Option<Huffman>; 4],
    ac_tables: [Option<Huffman>; 4],
    restart_interval: u16,
    adobe_transform: Option<u8>,
    scans: usize,
}

struct Frame {
    /// SOF0: at most two Huffman tables of each class.
    baseline: bool,
    progressive: bool,
    width: usize,
    height: usize,
    components: Vec<Component>,
    h_max: usize,
    v_max: usize,
}

struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant: usize,
    /// The DC entry of its quantization table as of its first scan (tables are latched then).
    quant_dc: Option<i32>,
    /// DC coefficients by block, `stride` blocks a row, covering whole MCUs.
    dc: Vec<i32>,
    stride: usize,
    /// By block, a bit for each AC coefficient known to be nonzero (progressive files only).
    nonzero: Vec<u64>,
    /// Whether its DC coefficients have been scanned (their first bits, if progressive).
    decoded: bool,
}

impl Frame {
    fn parse(segment: &[u8], marker: u8) -> Option<Frame> {
        let (precision, count) = (*segment.first()?, usize::from(*segment.get(5)?));
        if segment.len() != 6 + 3 * count {
            return None;
        }
        let height = usize::from(u16::from_be_bytes(segment.get(1..3)?.try_into().ok()?));
        let width = usize::from(u16::from_be_bytes(segment.get(3..5)?.try_into().ok()?));
        if precision != 8 || !matches!(count, 1 | 3) || width == 0 || height == 0 {
            return None;
        }
        let mut components: Vec<Component> = segment
            .get(6..6 + 3 * count)?
            .chunks_exact(3)
            .map(|c| Component {
                id: c[0],
                h: usize::from(c[1] >> 4),
                v: usize::from(c[1] & 15),
                quant: usize::from(c[2]),
                quant_dc: None,
                dc: Vec::new(),
                stride: 0,
                nonzero: Vec::new(),
                decoded: false,
            })
            .collect();
        let ids_repeat =
            (1..count).any(|i| components[..i].iter().any(|c| c.id == components[i].id));
        if ids_repeat
            || components
                .iter()
                .any(|c| !(1..=4).contains(&c.h) || !(1..=4).contains(&c.v) || c.quant > 3)
        {
            return None;
        }
        let h_max = components.iter().map(|c| c.h).max()?;
        let v_max = components.iter().map(|c| c.v).max()?;
        let (mcus_x, mcus_y) = (width.div_ceil(8 * h_max), height.div_ceil(8 * v_max));
        for c in &mut components {
            c.stride = mcus_x * c.h;
            c.dc = vec![0; c.stride * mcus_y * c.v];
        }
        Some(Frame {
            baseline: marker == 0xC0,
            progressive: marker == 0xC2,
            width,
            height,
            components,
            h_max,
            v_max,
        })
    }

    fn mcus(&self) -> (usize, usize) {
        (
            self.width.div_ceil(8 * self.h_max),
            self.height.div_ceil(8 * self.v_max),
        )
    }

    /// Blocks across and down of a component scanned on its own (no MCU padding).
    fn own_blocks(&self, c: &Component) -> (usize, usize) {
        (
            (self.width * c.h).div_ceil(self.h_max).div_ceil(8),
            (self.height * c.v).div_ceil(self.v_max).div_ceil(8),
        )
    }
}

impl File {
    fn quant_tables(&mut self, mut segment: &[u8]) -> Option<()> {
        while let Some(&pq_tq) = segment.first() {
            let (wide, id) = (pq_tq >> 4, usize::from(pq_tq & 15));
            if wide > 1 {
                return None;
            }
            let len = if wide == 0 { 64 } else { 128 };
            let table = segment.get(1..1 + len)?;
            // jpeg-decoder refuses a zero divisor anywhere in the table.
            let zero = if wide == 0 {
                table.contains(&0)
            } else {
                table.chunks_exact(2).any(|entry| entry == [0, 0])
            };
            if zero {
                return None;
            }
            let dc = if wide == 0 {
                i32::from(table[0])
            } else {
                i32::from(u16::from_be_bytes([table[0], table[1]]))
            };
            *self.quant_dc.get_mut(id)? = Some(dc);
            segment = &segment[1 + len..];
        }
        Some(())
    }

    fn huffman_tables(&mut self, mut segment: &[u8]) -> Option<()> {
        while let Some(&tc_th) = segment.first() {
            let counts: [u8; 16] = segment.get(1..17)?.try_into().ok()?;
            let total: usize = counts.iter().map(|&n| usize::from(n)).sum();
            let symbols = segment.get(17..17 + total)?;
            let id = usize::from(tc_th & 15);
            let baseline = self.frame.as_ref().is_some_and(|f| f.baseline);
            if !(1..=256).contains(&total) || (baseline && id > 1) {
                return None;
            }
            let table = Huffman::new(&counts, symbols)?;
            match tc_th >> 4 {
                0 => *self.dc_tables.get_mut(id)? = Some(table),
                1 => *self.ac_tables.get_mut(id)? = Some(table),
                _ => return None,
            }
            segment = &segment[17 + total..];
        }
        Some(())
    }

    /// Decodes one scan whose entropy-coded data starts at `start`; returns where it ends.
    fn scan(&mut self, header: &[u8], bytes: &[u8], start: usize) -> Option<usize> {
        let count = usize::from(*header.first()?);
        if !(1..=4).contains(&count) || header.len() != 4 + 2 * count {
            return None;
        }
        let (selectors, spectral) = header[1..].split_at(2 * count);
        let frame = self.frame.as_mut()?;
        let pass = Pass::of(frame.progressive, count, spectral)?;
        let mut members: Vec<Member> = Vec::with_capacity(count);
        for pair in selectors.chunks_exact(2) {
            let index = frame.components.iter().position(|c| c.id == pair[0])?;
            // In the frame's order, each once; baseline files use tables 0 and 1 only.
            let (dc, ac) = (usize::from(pair[1] >> 4), usize::from(pair[1] & 15));
            if members.last().is_some_and(|m| m.index >= index)
                || (frame.baseline && (dc > 1 || ac > 1))
            {
                return None;
            }
            let component = &mut frame.components[index];
            if component.quant_dc.is_none() {
                component.quant_dc = Some(self.quant_dc[component.quant]?);
            }
            if matches!(pass, Pass::Ac { .. }) && component.nonzero.is_empty() {
                component.nonzero = vec![0; component.dc.len()];
            }
            members.push(Member {
                index,
                dc: self.dc_tables.get(dc)?.as_ref(),
                ac: self.ac_tables.get(ac)?.as_ref(),
                predictor: 0,
            });
        }
        let blocks_per_mcu: usize = members
            .iter()
            .map(|m| frame.components[m.index].h * frame.components[m.index].v)
            .sum();
        if count > 1 && blocks_per_mcu > 10 {
            return None;
        }
        let mut state = ScanState {
            bits: Bits::new(bytes, start),
            pass,
            eob_run: 0,
        };
        let restart = usize::from(self.restart_interval);
        // Before each MCU: at a restart interval, the marker, and the predictions start over.
        let step = |state: &mut ScanState, members: &mut [Member], mcu: usize| -> Option<()> {
            if restart > 0 && mcu > 0 && mcu.is_multiple_of(restart) {
                // RST0 to RST7 in turn.
                state.bits.restart((mcu / restart - 1) as u8 % 8)?;
                state.eob_run = 0;
                members.iter_mut().for_each(|m| m.predictor = 0);
            }
            Some(())
        };
        if let [member] = &mut members[..] {
            // One component on its own: its blocks in raster order, one block an MCU.
            let (across, down) = frame.own_blocks(&frame.components[member.index]);
            let component = &mut frame.components[member.index];
            for row in 0..down {
                for col in 0..across {
                    step(&mut state, std::slice::from_mut(member), row * across + col)?;
                    state.block(member, component, row * component.stride + col)?;
                }
            }
        } else {
            let (mcus_x, mcus_y) = frame.mcus();
            for my in 0..mcus_y {
                for mx in 0..mcus_x {
                    step(&mut state, &mut members, my * mcus_x + mx)?;
                    for member in &mut members {
                        let component = &mut frame.components[member.index];
                        for by in 0..component.v {
                            for bx in 0..component.h {
                                let at = (my * component.v + by) * component.stride
                                    + mx * component.h
                                    + bx;
                                state.block(member, component, at)?;
                            }
                        }
                    }
                }
            }
        }
        // The scan ends where its data does: at a marker other than a restart.
        let end = state.bits.pos;
        if matches!(state.bits.marker()?, 0xD0..=0xD7) {
            return None;
        }
        if matches!(pass, Pass::Sequential | Pass::Dc { refine: false, .. }) {
            for member in &members {
                frame.components[member.index].decoded = true;
            }
        }
        Some(end)
    }

    /// The picture once every component has been scanned: each block's DC as one pixel.
    fn raster(self) -> Option<Raster> {
        let frame = self.frame?;
        let rgb_coded = frame.components.len() == 3
            && (self.adobe_transform == Some(0)
                || frame.components.iter().map(|c| c.id).eq(*b"RGB"));
        if rgb_coded || frame.components.iter().any(|c| !c.decoded) {
            return None;
        }
        let (width, height) = (frame.width.div_ceil(8), frame.height.div_ceil(8));
        let mut planes = Vec::with_capacity(frame.components.len());
        for c in &frame.components {
            let q = i64::from(c.quant_dc?);
            // Each output pixel takes the block it falls in (chroma blocks cover 2×2 pixels at
            // the usual subsampling); the columns are worked out once, not divided per pixel.
            let columns: Vec<usize> = (0..width).map(|x| x * c.h / frame.h_max).collect();
            let mut plane = Vec::with_capacity(width * height);
            for y in 0..height {
                let row = &c.dc[(y * c.v / frame.v_max) * c.stride..];
                plane.extend(
                    columns
                        .iter()
                        .map(|&x| ((i64::from(row[x]) * q + 1024) >> 3).clamp(0, 255) as u8),
                );
            }
            planes.push(plane);
        }
        let data = match &planes[..] {
            [luma] => luma.clone(),
            [y, cb, cr] => y
                .iter()
                .zip(cb)
                .zip(cr)
                .flat_map(|((&y, &cb), &cr)| ycbcr_to_rgb(y, cb, cr))
                .collect(),
            _ => return None,
        };
        Some(Raster {
            width: width as u32,
            height: height as u32,
            channels: planes.len(),
            data,
        })
    }
}

/// What a scan codes for each block.
#[derive(Debug, Clone, Copy)]
enum Pass {
    /// The DC difference, then every AC coefficient.
    Sequential,
    /// Progressive: the DC difference to bit `shift` (first pass), or its bit `shift`
    /// (refinement).
    Dc { shift: u32, refine: bool },
    /// Progressive, one component: the AC coefficients `first..=last`, first pass or refinement.
    Ac { first: u32, last: u32, refine: bool },
}

impl Pass {
    /// From the scan header's spectral selection and successive approximation bytes.
    fn of(progressive: bool, components: usize, spectral: &[u8]) -> Option<Pass> {
        let (first, last) = (u32::from(spectral[0]), u32::from(spectral[1]));
        let (high, shift) = (u32::from(spectral[2] >> 4), u32::from(spectral[2] & 15));
        // The point transform stays below the 8-bit precision; a refinement adds one bit.
        if shift >= 8 || (high != 0 && high != shift + 1) {
            return None;
        }
        if !progressive {
            return Some(Pass::Sequential);
        }
        let refine = high != 0;
        Some(match first {
            0 if last != 0 => return None,
            0 => Pass::Dc { shift, refine },
            _ if components != 1 || last < first || last > 63 => return None,
            _ => Pass::Ac {
                first,
                last,
                refine,
            },
        })
    }
}

/// A component of the scan, with its tables and DC prediction.
struct Member<'t> {
    index: usize,
    dc: Option<&'t Huffman>,
    ac: Option<&'t Huffman>,
    predictor: i32,
}

struct ScanState<'a> {
    bits: Bits<'a>,
    pass: Pass,
    /// Blocks left that an end-of-band run covers (progressive AC scans).
    eob_run: u32,
}

impl ScanState<'_> {
    /// Decodes the component's next block, at `at`.
    #[inline]
    fn block(&mut self, member: &mut Member, component: &mut Component, at: usize) -> Option<()> {
        let bits = &mut self.bits;
        match self.pass {
            Pass::Sequential => {
                component.dc[at] = member.predict(bits)?;
                step_over_ac(bits, member.ac?)
            }
            Pass::Dc {
                shift,
                refine: false,
            } => {
                component.dc[at] = member.predict(bits)?.checked_mul(1 << shift)?;
                Some(())
            }
            Pass::Dc {
                shift,
                refine: true,
            } => {
                bits.fill();
                component.dc[at] |= (bits.take(1) as i32) << shift;
                Some(())
            }
            Pass::Ac {
                first,
                last,
                refine,
            } => {
                let pass = if refine { ac_refine } else { ac_first };
                let band = first..=last;
                pass(
                    bits,
                    member.ac?,
                    &mut self.eob_run,
                    band,
                    &mut component.nonzero[at],
                )
            }
        }
    }
}

impl Member<'_> {
    /// The next DC value: the coded difference added to the component's prediction.
    #[inline(always)]
    fn predict(&mut self, bits: &mut Bits) -> Option<i32> {
        self.predictor = self.predictor.checked_add(dc_difference(bits, self.dc?)?)?;
        Some(self.predictor)
    }
}

/// The next DC difference (a size code, then that many bits).
#[inline(always)]
fn dc_difference(bits: &mut Bits, dc: &Huffman) -> Option<i32> {
    bits.fill();
    let (len, size) = dc.lookup(bits)?;
    if size > 11 {
        return None;
    }
    bits.skip(len);
    Some(bits.receive(u32::from(size)))
}

/// A sequential block's AC codes, stepped over up to the end of the block: several codes a
/// lookup while they fit in the block, one at a time near its end.
#[inline(always)]
fn step_over_ac(bits: &mut Bits, ac: &Huffman) -> Option<()> {
    let skip = ac.skip_table();
    let mut k = 1;
    while k < 64 {
        bits.fill();
        let run = skip[bits.peek(SKIP_BITS) as usize];
        // An end-of-block code counts as one more coefficient here: it must fall before k = 64,
        // since a block that fills all 63 has none and the bits after it are the next block's.
        if run.bits > 0 && k + u32::from(run.coefficients) + u32::from(run.ends_block) <= 64 {
            bits.skip(u32::from(run.bits));
            k += u32::from(run.coefficients);
            if run.ends_block {
                break;
            }
            continue;
        }
        let (len, symbol) = ac.lookup(bits)?;
        let (zeros, size) = (u32::from(symbol >> 4), u32::from(symbol & 15));
        // The code and the coefficient's bits go in one step: only the DC is kept.
        bits.skip(len + size);
        if size != 0 {
            k += zeros + 1;
        } else if zeros == 15 {
            k += 16;
        } else {
            break;
        }
    }
    (k <= 64).then_some(())
}

/// A progressive first AC pass over one block: notes which coefficients become nonzero.
fn ac_first(
    bits: &mut Bits,
    ac: &Huffman,
    eob_run: &mut u32,
    band: std::ops::RangeInclusive<u32>,
    nonzero: &mut u64,
) -> Option<()> {
    if *eob_run > 0 {
        *eob_run -= 1;
        return Some(());
    }
    let mut k = *band.start();
    while k <= *band.end() {
        let (run, size) = ac.run_and_size(bits)?;
        if size != 0 {
            k += run;
            if k > *band.end() {
                return None;
            }
            bits.skip(size);
            *nonzero |= 1 << k;
            k += 1;
        } else if run == 15 {
            k += 16;
        } else {
            // This block ends the band, and so do the next 2^run - 1 + (run bits) blocks.
            *eob_run = (1 << run) - 1 + bits.take(run);
            break;
        }
    }
    Some(())
}

/// A progressive AC refinement pass over one block: a correction bit for each coefficient
/// already nonzero, and new coefficients of magnitude one placed among the zero ones.
fn ac_refine(
    bits: &mut Bits,
    ac: &Huffman,
    eob_run: &mut u32,
    band: std::ops::RangeInclusive<u32>,
    nonzero: &mut u64,
) -> Option<()> {
    let (mut k, last) = (*band.start(), *band.end());
    if *eob_run == 0 {
        while k <= last {
            let (run, size) = ac.run_and_size(bits)?;
            match size {
                0 if run != 15 => {
                    *eob_run = (1 << run) + bits.take(run);
                    break;
                }
                0 => pass_corrections(bits, *nonzero, &mut k, last, Some(15)),
                1 => {
                    bits.skip(1);
                    pass_corrections(bits, *nonzero, &mut k, last, Some(run));
                    if k > last {
                        return None;
                    }
                    *nonzero |= 1 << k;
                }
                _ => return None,
            }
            k += 1;
        }
    }
    if *eob_run > 0 {
        pass_corrections(bits, *nonzero, &mut k, last, None);
        *eob_run -= 1;
    }
    Some(())
}

/// Moves `k` over the coefficients already nonzero (reading a correction bit for each) up to the
/// `zeros + 1`-th zero one, or to the end of the band.
fn pass_corrections(bits: &mut Bits, nonzero: u64, k: &mut u32, last: u32, mut zeros: Option<u32>) {
    while *k <= last {
        if nonzero & (1 << *k) != 0 {
            bits.fill();
            bits.skip(1);
        } else if let Some(left) = zeros {
            if left == 0 {
                return;
            }
            zeros = Some(left - 1);
        }
        *k += 1;
    }
}

/// JFIF's YCbCr to RGB, in 16.16 fixed point.
fn ycbcr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let y = (i32::from(y) << 16) + (1 << 15);
    let (cb, cr) = (i32::from(cb) - 128, i32::from(cr) - 128);
    let channel = |v: i32| (v >> 16).clamp(0, 255) as u8;
    [
        channel(y + 91_881 * cr),
        channel(y - 22_554 * cb - 46_802 * cr),
        channel(y + 116_130 * cb),
    ]
}

/// A Huffman table: a lookup of the first `LOOKAHEAD` bits, and the canonical code ranges for
/// the longer codes.
struct Huffman {
    /// As an AC table of a sequential scan: what the next `SKIP_BITS` bits step over. Built on
    /// first use, so a file of many table definitions costs no more than it did.
    skip: OnceCell<Vec<AcRun>>,
    /// (code length, symbol) by the next `LOOKAHEAD` bits; length 0 for a longer code.
    fast: Vec<(u8, u8)>,
    /// For lengths 1 to 16: the largest code of that length (−1 for none), and the offset of
    /// its first symbol minus its first code.
    max_code: [i32; 17],
    offset: [i32; 17],
    symbols: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], symbols: &[u8]) -> Option<Huffman> {
        let mut fast = vec![(0u8, 0u8); 1 << LOOKAHEAD];
        let (mut max_code, mut offset) = ([-1i32; 17], [0i32; 17]);
        let (mut code, mut next) = (0i32, 0usize);
        for len in 1..=16u32 {
            let n = usize::from(counts[len as usize - 1]);
            offset[len as usize] = next as i32 - code;
            for &symbol in &symbols[next..next + n] {
                if code >= 1 << len {
                    return None;
                }
                if len <= LOOKAHEAD {
                    let first = (code as usize) << (LOOKAHEAD - len);
                    fast[first..first + (1 << (LOOKAHEAD - len))].fill((len as u8, symbol));
                }
                code += 1;
            }
            next += n;
            if n > 0 {
                max_code[len as usize] = code - 1;
            }
            code <<= 1;
        }
        Some(Huffman {
            skip: OnceCell::new(),
            fast,
            max_code,
            offset,
            symbols: symbols.to_vec(),
        })
    }

    /// The next AC code, consumed, as (zero run, coefficient size).
    #[inline(always)]
    fn run_and_size(&self, bits: &mut Bits) -> Option<(u32, u32)> {
        bits.fill();
        let (len, symbol) = self.lookup(bits)?;
        bits.skip(len);
        Some((u32::from(symbol >> 4), u32::from(symbol & 15)))
    }

    /// The next code's length and symbol, without consuming it.
    #[inline]
    fn lookup(&self, bits: &Bits) -> Option<(u32, u8)> {
        self.code_at(bits.buffer)
    }

    /// The code at the top of `window`, as (length, symbol).
    #[inline]
    fn code_at(&self, window: u64) -> Option<(u32, u8)> {
        let (len, symbol) = self.fast[(window >> (64 - LOOKAHEAD)) as usize];
        if len > 0 {
            return Some((u32::from(len), symbol));
        }
        for len in LOOKAHEAD + 1..=16 {
            let code = (window >> (64 - len)) as i32;
            if code <= self.max_code[len as usize] {
                let at = usize::try_from(code + self.offset[len as usize]).ok()?;
                return Some((len, *self.symbols.get(at)?));
            }
        }
        None
    }

    fn skip_table(&self) -> &[AcRun] {
        self.skip.get_or_init(|| {
            (0..1u64 << SKIP_BITS)
                .map(|window| self.ac_run(window << (64 - SKIP_BITS)))
                .collect()
        })
    }

    /// The whole AC codes, with their coefficient bits, in the top `SKIP_BITS` bits of
    /// `window`, up to and including an end of block.
    fn ac_run(&self, mut window: u64) -> AcRun {
        let mut run = AcRun::default();
        while let Some((len, symbol)) = self.code_at(window) {
            let (zeros, size) = (symbol >> 4, symbol & 15);
            let used = len + u32::from(size);
            if u32::from(run.bits) + used > SKIP_BITS {
                break;
            }
            run.bits += used as u8;
            window <<= used;
            match (zeros, size) {
                (_, 1..) => run.coefficients += zeros + 1,
                (15, 0) => run.coefficients += 16,
                _ => {
                    run.ends_block = true;
                    break;
                }
            }
        }
        run
    }
}

/// A lookup in a skip table: `bits` (0 when not even one code fits) holding `coefficients`
/// coefficients, and whether its last code ends the block.
#[derive(Clone, Copy, Default)]
struct AcRun {
    bits: u8,
    coefficients: u8,
    ends_block: bool,
}

/// Entropy-coded bits, most significant first, with stuffed zero bytes removed. At a marker it
/// supplies zero bits; consuming any of those means the scan ran out of data.
struct Bits<'a> {
    bytes: &'a [u8],
    /// The next byte to read; at a marker, the marker's 0xFF.
    pos: usize,
    /// `count` bits, from the top.
    buffer: u64,
    count: u32,
    /// Zero bits supplied since the marker. They were the last to go into the buffer, so some
    /// have been consumed exactly when there are more of them than bits left in it.
    padding: u64,
    at_marker: bool,
}

impl<'a> Bits<'a> {
    fn new(bytes: &'a [u8], pos: usize) -> Self {
        Self {
            bytes,
            pos,
            buffer: 0,
            count: 0,
            padding: 0,
            at_marker: false,
        }
    }

    /// Makes sure of at least 32 bits: enough for a code and its extra bits.
    #[inline(always)]
    fn fill(&mut self) {
        if self.count >= 32 {
            return;
        }
        // Whole bytes, eight at a time while there is no 0xFF among them.
        if let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
            let word = u64::from_be_bytes(chunk.try_into().expect("eight bytes"));
            let inverted = !word;
            if !self.at_marker && inverted.wrapping_sub(ONES) & word & HIGHS == 0 {
                let taken = (64 - self.count) / 8 * 8;
                self.buffer |= (word >> (64 - taken)) << (64 - self.count - taken);
                self.count += taken;
                self.pos += taken as usize / 8;
                return;
            }
        }
        while self.count <= 56 {
            let byte = if self.at_marker {
                0
            } else {
                match self.bytes.get(self.pos..) {
                    Some([0xFF, 0x00, ..]) => {
                        self.pos += 2;
                        0xFF
                    }
                    Some([0xFF, ..] | []) | None => {
                        self.at_marker = true;
                        0
                    }
                    Some([byte, ..]) => {
                        self.pos += 1;
                        *byte
                    }
                }
            };
            if self.at_marker {
                self.padding += 8;
            }
            self.buffer |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    #[inline(always)]
    fn peek(&self, n: u32) -> u64 {
        self.buffer >> (64 - n)
    }

    /// Drops `n` bits (at most 32, after `fill`).
    #[inline(always)]
    fn skip(&mut self, n: u32) {
        self.buffer <<= n;
        self.count -= n;
    }

    fn overrun(&self) -> bool {
        self.padding > u64::from(self.count)
    }

    /// The next `n` bits (at most 16, after `fill`) as a number.
    #[inline(always)]
    fn take(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let value = self.peek(n) as u32;
        self.skip(n);
        value
    }

    /// The signed value of the next `n` bits (JPEG's RECEIVE and EXTEND).
    #[inline(always)]
    fn receive(&mut self, n: u32) -> i32 {
        let value = self.take(n) as i32;
        if n > 0 && value < 1 << (n - 1) {
            value - (1 << n) + 1
        } else {
            value
        }
    }

    /// The marker the data has run up to, if no data bit was missing and what is left is the
    /// last byte's padding; `pos` is then the marker's 0xFF.
    fn marker(&mut self) -> Option<u8> {
        self.fill();
        if !self.at_marker || self.overrun() || u64::from(self.count) - self.padding >= 8 {
            return None;
        }
        self.bytes[self.pos..].iter().copied().find(|&b| b != 0xFF)
    }

    /// At a restart interval: the marker RST`n`, and the data after it.
    fn restart(&mut self, n: u8) -> Option<()> {
        if self.marker()? != 0xD0 + n {
            return None;
        }
        let next = self.pos + self.bytes[self.pos..].iter().position(|&b| b != 0xFF)? + 1;
        *self = Bits::new(self.bytes, next);
        Some(())
    }
}

/// For finding an 0xFF byte in a word: a byte of `word` is 0xFF exactly where `!word` has a
/// zero byte.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::photos::fixtures::{FixtureColor, PhotoSpec, phone_jpeg};
    use crate::photos::header::{read_header, scan_ends};
    use crate::photos::ingest::decode_pure;
    use crate::photos::{Limits, inspect};

    /// jpeg-decoder's own 1/8-scale decode of the file.
    fn reference(jpeg: &[u8]) -> Raster {
        let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(jpeg));
        decoder.read_info().unwrap();
        let info = decoder.info().unwrap();
        let (w, h) = decoder
            .scale(info.width.div_ceil(8), info.height.div_ceil(8))
            .unwrap();
        let data = decoder.decode().unwrap();
        Raster {
            width: u32::from(w),
            height: u32::from(h),
            channels: data.len() / (usize::from(w) * usize::from(h)),
            data,
        }
    }

    /// Same size and channels as jpeg-decoder's, each pixel's luma within `tolerance`.
    fn assert_close(jpeg: &[u8], tolerance: i32) {
        let ours = decode_eighth(jpeg).expect("decoded on the DC path");
        let theirs = reference(jpeg);
        assert_eq!(
            (ours.width, ours.height, ours.channels),
            (theirs.width, theirs.height, theirs.channels)
        );
        let luma = |r: &Raster| -> Vec<i32> {
            r.data
                .chunks_exact(r.channels)
                .map(|p| match p {
                    [l] => i32::from(*l),
                    [r, g, b] => {
                        (299 * i32::from(*r) + 587 * i32::from(*g) + 114 * i32::from(*b)) / 1000
                    }
                    _ => unreachable!(),
                })
                .collect()
        };
        let worst = luma(&ours)
            .iter()
            .zip(luma(&theirs))
            .map(|(a, b)| (a - b).abs())
            .max()
            .unwrap();
        assert!(worst <= tolerance, "luma differs by up to {worst}");
    }

    fn encoded(
        sampling: jpeg_encoder::SamplingFactor,
        restart: Option<u16>,
        gray: bool,
    ) -> Vec<u8> {
        let (w, h) = (1203u16, 797u16);
        let pixels: Vec<u8> = (0..usize::from(w) * usize::from(h))
            .flat_map(|i| {
                let (x, y) = (i % usize::from(w), i / usize::from(w));
                [
                    (x * 255 / 1203) as u8,
                    (y * 255 / 797) as u8,
                    ((x ^ y) & 0xFF) as u8,
                ]
            })
            .collect();
        let mut jpeg = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, 90);
        encoder.set_sampling_factor(sampling);
        if let Some(interval) = restart {
            encoder.set_restart_interval(interval);
        }
        if gray {
            let luma: Vec<u8> = pixels
                .chunks_exact(3)
                .map(|p| p[0] / 2 + p[1] / 2)
                .collect();
            encoder
                .encode(&luma, w, h, jpeg_encoder::ColorType::Luma)
                .unwrap();
        } else {
            encoder
                .encode(&pixels, w, h, jpeg_encoder::ColorType::Rgb)
                .unwrap();
        }
        jpeg
    }

    #[test]
    fn phone_photos_decode_as_jpeg_decoder_decodes_them_at_an_eighth() {
        for color in [FixtureColor::Color, FixtureColor::Grayscale] {
            let jpeg = phone_jpeg(&PhotoSpec {
                width: 2001,
                height: 1499,
                color,
                ..PhotoSpec::default()
            });
            assert_close(&jpeg, 2);
        }
    }

    #[test]
    fn every_common_subsampling_and_restart_markers_decode_alike() {
        use jpeg_encoder::SamplingFactor::*;
        for sampling in [F_1_1, F_2_1, F_1_2, F_2_2, F_4_1] {
            for restart in [None, Some(1), Some(7)] {
                // Chroma blocks are repeated here and interpolated by jpeg-decoder.
                assert_close(&encoded(sampling, restart, false), 4);
            }
        }
        assert_close(&encoded(F_1_1, Some(5), true), 0);
    }

    /// Noise at quality 100: many blocks code their last coefficient and have no end-of-block
    /// code, so several codes looked up at once must stop exactly at the block's end.
    #[test]
    fn blocks_coded_to_their_last_coefficient_decode_alike() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(63);
        let (w, h) = (320u16, 240u16);
        let noise: Vec<u8> = (0..usize::from(w) * usize::from(h))
            .map(|_| rng.r#gen())
            .collect();
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 100)
            .encode(&noise, w, h, jpeg_encoder::ColorType::Luma)
            .unwrap();
        assert_close(&jpeg, 0);
    }

    /// Made by `jpegtran -progressive [-restart N]` from the baseline seeds beside them: DC
    /// and AC scans with successive approximation, so refinement passes of both kinds.
    const REFINED: [(&[u8], i32); 3] = [
        (
            include_bytes!("../../fuzz/seeds/photo_ingest/progressive_refined_400x300"),
            4,
        ),
        (
            include_bytes!("../../fuzz/seeds/photo_ingest/progressive_refined_restarts_400x300"),
            4,
        ),
        (
            include_bytes!("../../fuzz/seeds/photo_ingest/progressive_refined_restarts_gray_64x48"),
            0,
        ),
    ];

    #[test]
    fn progressive_photos_decode_as_jpeg_decoder_decodes_them_at_an_eighth() {
        for (jpeg, tolerance) in REFINED {
            assert_close(jpeg, tolerance);
        }
        let spectral_only = phone_jpeg(&PhotoSpec {
            width: 2001,
            height: 1499,
            progressive: true,
            ..PhotoSpec::default()
        });
        assert_close(&spectral_only, 2);
    }

    /// Over the fuzzing corpus and seeds (hostile and odd files among them): whatever the DC
    /// path decodes, jpeg-decoder behind its scan guard decodes too, to the same size. So taking
    /// this path first never lets through a file the service refused before.
    #[test]
    fn the_dc_path_accepts_no_file_that_jpeg_decoder_refuses() {
        let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut taken = 0;
        for dir in ["seeds/photo_ingest", "corpus/photo_ingest"] {
            for entry in std::fs::read_dir(fuzz.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                let jpeg = std::fs::read(&path).unwrap();
                // What the service decodes: files the header checks let through.
                let Ok(inspected) = inspect(&jpeg, &Limits::default()) else {
                    continue;
                };
                let Some(ours) = decode_eighth(&jpeg) else {
                    continue;
                };
                let size = (inspected.width, inspected.height);
                let scans = scan_ends(&jpeg, read_header(&jpeg, u64::MAX).unwrap().scan_start);
                let theirs = decode_pure(&jpeg, scans, size, 8)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
                assert_eq!((ours.width, ours.height), (theirs.width, theirs.height));
                taken += 1;
            }
        }
        assert!(taken > 40, "only {taken} files decoded");
    }

    /// Photos with bytes changed or cut short, as a flaky upload or a hostile phone would send
    /// them: the DC path never panics, and whatever it still decodes jpeg-decoder decodes too.
    #[test]
    fn damaged_photos_never_pass_the_dc_path_where_jpeg_decoder_refuses_them() {
        use rand::{Rng, SeedableRng};
        let sequential = encoded(jpeg_encoder::SamplingFactor::F_2_2, Some(3), false);
        let bases = [&sequential[..], REFINED[0].0, REFINED[1].0, REFINED[2].0];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let (mut decoded, mut agreed) = (0, 0);
        for round in 0..4000 {
            let base = bases[round % bases.len()];
            let header_end = read_header(base, u64::MAX).unwrap().scan_start;
            let mut jpeg = base.to_vec();
            for _ in 0..rng.gen_range(1..4) {
                let at = rng.gen_range(header_end..jpeg.len() - 2);
                jpeg[at] = rng.r#gen();
            }
            if rng.gen_bool(0.3) {
                let cut = rng.gen_range(header_end..jpeg.len());
                jpeg.truncate(cut);
                jpeg.extend_from_slice(&[0xFF, 0xD9]);
            }
            let Ok(inspected) = inspect(&jpeg, &Limits::default()) else {
                continue;
            };
            let Some(ours) = decode_eighth(&jpeg) else {
                continue;
            };
            decoded += 1;
            let scans = scan_ends(&jpeg, read_header(&jpeg, u64::MAX).unwrap().scan_start);
            let size = (inspected.width, inspected.height);
            let theirs = decode_pure(&jpeg, scans, size, 8).unwrap_or_else(|e| {
                panic!("round {round}: the DC path took it, jpeg-decoder: {e:?}")
            });
            assert_eq!((ours.width, ours.height), (theirs.width, theirs.height));
            agreed += 1;
        }
        assert!(decoded > 100 && agreed == decoded, "{agreed} of {decoded}");
    }

    #[test]
    fn what_the_dc_path_does_not_take_is_left_to_jpeg_decoder() {
        let (refined, _) = REFINED[1];
        for jpeg in [
            &encoded(jpeg_encoder::SamplingFactor::F_2_2, Some(4), false)[..],
            refined,
        ] {
            let eoi = jpeg.len() - 2;
            // Cut inside a scan, with and without an EOI after the cut.
            for cut in [eoi / 2, eoi - 40] {
                assert!(decode_eighth(&jpeg[..cut]).is_none(), "cut at {cut}");
                let closed = [&jpeg[..cut], &[0xFF, 0xD9][..]].concat();
                assert!(decode_eighth(&closed).is_none(), "cut at {cut}, closed");
            }
            // A restart marker lost.
            let mut lost = jpeg.to_vec();
            let at = lost.windows(2).rposition(|w| w == [0xFF, 0xD3]).unwrap();
            lost[at + 1] = 0x00;
            assert!(decode_eighth(&lost).is_none());
            // Nothing at all after the header.
            assert!(decode_eighth(&jpeg[..20]).is_none());
            assert!(decode_eighth(jpeg).is_some());
        }
    }
}
